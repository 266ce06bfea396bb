"""The log file every Lamina process writes, and the ``--verbose`` switch that feeds stderr."""

from __future__ import annotations

import argparse
import ast
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina import applog
from lamina.cli import build_parser


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    applog.shutdown_logging()
    logging.getLogger().setLevel(level)


def test_log_file_lives_in_the_user_state_directory(tmp_path: Path) -> None:
    # conftest points XDG_STATE_HOME into a per-test home; platformdirs puts logs under it.
    state = Path(os.environ["XDG_STATE_HOME"])
    assert applog.log_dir() == state / "lamina" / "log"
    assert applog.log_file_path() == state / "lamina" / "log" / "lamina.log"


def test_records_reach_the_log_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = applog.setup_logging(False)
    logging.getLogger("lamina.test").info("opened review of %s", "plan.pdf")
    logging.getLogger("lamina.test").debug("not kept without --verbose")
    logging.getLogger("lamina.test").warning("server went away")

    assert path == applog.log_file_path()
    text = path.read_text(encoding="utf-8")
    assert "INFO lamina.test: opened review of plan.pdf" in text
    assert "WARNING lamina.test: server went away" in text
    assert "not kept" not in text
    # The terminal shows warnings only.
    err = capsys.readouterr().err
    assert "server went away" in err
    assert "opened review" not in err


def test_verbose_shows_debug_on_stderr_and_in_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = applog.setup_logging(True)
    logging.getLogger("lamina.test").debug("tile cache hit")
    assert path is not None
    assert "DEBUG lamina.test: tile cache hit" in path.read_text(encoding="utf-8")
    assert "tile cache hit" in capsys.readouterr().err


@pytest.mark.expect_error_log(r"lamina\.test: crash in page view")
def test_without_stderr_only_the_file_receives_records(capsys: pytest.CaptureFixture[str]) -> None:
    path = applog.setup_logging(False, to_stderr=False)
    logging.getLogger("lamina.test").error("crash in page view")
    assert path is not None
    assert "crash in page view" in path.read_text(encoding="utf-8")
    assert capsys.readouterr().err == ""


def test_calling_setup_twice_does_not_duplicate_lines() -> None:
    applog.setup_logging(False)
    path = applog.setup_logging(False)
    logging.getLogger("lamina.test").info("exactly once")
    assert path is not None
    assert path.read_text(encoding="utf-8").count("exactly once") == 1


def test_log_file_rotates_and_keeps_five_old_files() -> None:
    path = applog.setup_logging(False, to_stderr=False)
    assert path is not None
    line = "x" * 1000
    log = logging.getLogger("lamina.test")
    # About 8 MiB of records: more than the current file plus five rotated ones can hold.
    for i in range(8 * 1024):
        log.info("%06d %s", i, line)

    rotated = sorted(p.name for p in path.parent.iterdir())
    assert rotated == [f"lamina.log{suffix}" for suffix in ("", ".1", ".2", ".3", ".4", ".5")]
    for p in path.parent.iterdir():
        assert p.stat().st_size <= applog.MAX_BYTES
    # The newest record is in the current file, the oldest ones are gone.
    assert f"{8 * 1024 - 1:06d}" in path.read_text(encoding="utf-8")
    assert "000000 " not in (path.parent / "lamina.log.5").read_text(encoding="utf-8")


def test_unusable_log_directory_falls_back_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A regular file where a directory should be: mkdir fails even for root.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv(applog.LOG_DIR_ENV, str(blocker / "log"))

    path = applog.setup_logging(False, to_stderr=False)
    logging.getLogger("lamina.test").warning("still visible")

    assert path is None
    err = capsys.readouterr().err
    warning_lines = [ln for ln in err.splitlines() if ln.startswith("lamina: warning:")]
    assert len(warning_lines) == 1
    assert str(blocker / "log" / "lamina.log") in warning_lines[0]
    assert "still visible" in err


def test_a_crash_lands_in_the_log_file(tmp_path: Path) -> None:
    # A user who started Lamina from the menu never sees stderr; the log must keep the crash.
    code = (
        "from lamina.applog import setup_logging; setup_logging(False); raise RuntimeError('boom')"
    )
    env = {**os.environ, applog.LOG_DIR_ENV: str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stderr.count("RuntimeError: boom") == 1
    text = (tmp_path / "lamina.log").read_text(encoding="utf-8")
    assert "CRITICAL lamina: uncaught exception" in text
    assert "RuntimeError: boom" in text


def test_log_dir_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(applog.LOG_DIR_ENV, str(tmp_path / "logs"))
    path = applog.setup_logging(False, to_stderr=False)
    logging.getLogger("lamina.test").info("here")
    assert path == tmp_path / "logs" / "lamina.log"
    assert "here" in path.read_text(encoding="utf-8")


def test_applog_imports_only_stdlib_and_platformdirs() -> None:
    # Every process calls it first, including ones without Qt or a PDF engine.
    tree = ast.parse(Path(applog.__file__).read_text(encoding="utf-8"))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.partition(".")[0])
    assert tops - set(sys.stdlib_module_names) == {"platformdirs"}


def test_every_verb_accepts_verbose() -> None:
    # `lamina VERB --verbose` must work for every verb, nested ones included.
    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, bool]]:
        options = {opt for action in parser._actions for opt in action.option_strings}
        yield path, "--verbose" in options
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")

    missing = [path for path, has in walk(build_parser(), "lamina") if not has]
    assert missing == []
