"""The `lamina` command itself: version, implicit verbs from desktop launchers, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lamina import __version__
from lamina.cli import implicit_verb, main


def test_version_answers_without_loading_qt_or_pymupdf() -> None:
    code = (
        "import sys; from lamina.cli import main; main(['--version']);"
        "print(sorted(m for m in ('PySide6', 'pymupdf') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [f"lamina {__version__}", "[]"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report.pdf"], ["open", "report.pdf"]),
        (["Report.PDF", "-v"], ["open", "Report.PDF", "-v"]),
        (["file:///tmp/my%20report.pdf"], ["open", "/tmp/my report.pdf"]),
        (["lamina://join?server=x&token=y"], ["join", "lamina://join?server=x&token=y"]),
        (["dump", "a.pdf"], ["dump", "a.pdf"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)
def test_launchers_may_pass_a_file_or_link_without_a_verb(
    argv: list[str], expected: list[str]
) -> None:
    assert implicit_verb(argv) == expected


def test_a_missing_file_is_one_line_on_stderr_with_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing.pdf")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lamina: error:")
    assert "missing.pdf" in err and "Traceback" not in err


def test_unknown_verb_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_os_errors_are_plain_sentences_without_errno(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pdf"
    assert main(["doc", "add", str(missing), "--data", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err == f"lamina: error: {missing}: no such file or directory\n"


def test_serve_on_a_taken_port_says_what_to_do(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = str(tmp_path / "data")
        done = subprocess.run(
            [sys.executable, "-m", "lamina.cli", "serve", "--port", str(port), "--data", data],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LAMINA_LOG_DIR": str(tmp_path / "log")},
        )
    assert done.returncode == 1
    (line,) = [x for x in done.stderr.splitlines() if "lamina: error:" in x]
    assert "address already in use" in line and "--port" in line and "Errno" not in line
    assert "Traceback" not in done.stderr
