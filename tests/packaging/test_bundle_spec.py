"""The PyInstaller spec finds the import package `lamina` without an installed import hook.

``packaging/build.sh`` is too slow for the suite (the lead's CI builds and smoke-tests the
bundle); these tests run the spec itself with PyInstaller's build steps stubbed out and look at
what it would hand PyInstaller.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _layout(tmp_path: Path) -> Path:
    """Return a repository of links to this one's app/ and resources/, with a copy of the spec."""
    repo = tmp_path / "repo"
    (repo / "packaging").mkdir(parents=True)
    spec = (REPO / "packaging" / "lamina.spec").read_text(encoding="utf-8")
    (repo / "packaging" / "lamina.spec").write_text(spec, encoding="utf-8")
    for name in ("app", "resources"):
        (repo / name).symlink_to(REPO / name, target_is_directory=True)
    return repo


def _run_spec(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute ``repo``'s packaging/lamina.spec with PyInstaller stubbed; return its calls."""
    spec = (repo / "packaging" / "lamina.spec").read_text(encoding="utf-8")
    calls: dict[str, Any] = {}
    hooks = types.ModuleType("PyInstaller.utils.hooks")

    def collect_submodules(package: str) -> list[str]:
        calls["collected"] = package
        return [f"{package}.cli"]

    hooks.collect_submodules = collect_submodules  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec puts its folder first

    def record(name: str) -> Any:
        def step(*args: Any, **kwargs: Any) -> types.SimpleNamespace:
            calls[name] = (args, kwargs)
            return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])

        return step

    namespace = {
        "SPECPATH": str(repo / "packaging"),
        **{name: record(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT")},
    }
    exec(compile(spec, "lamina.spec", "exec"), namespace)
    return calls


def test_the_spec_shows_pyinstaller_a_folder_named_lamina_holding_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _layout(tmp_path)
    calls = _run_spec(repo, monkeypatch)
    ((script,),), analysis = calls["Analysis"]
    assert script.endswith("packaging/lamina_entry.py")
    assert calls["collected"] == "lamina"
    assert analysis["hiddenimports"] == ["lamina.cli"]
    # PyInstaller searches pathex as plain folders (no meta path hook of an editable install).
    spec = importlib.machinery.PathFinder.find_spec("lamina", analysis["pathex"])
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == (REPO / "app" / "__init__.py").resolve()
    assert importlib.machinery.PathFinder.find_spec("app", analysis["pathex"]) is None
    # A second build finds the link in place (build.sh --clean leaves build/ alone).
    again = _run_spec(repo, monkeypatch)["Analysis"][1]["pathex"]
    assert again == analysis["pathex"]


def test_the_entry_point_runs_the_lamina_command() -> None:
    entry = (REPO / "packaging" / "lamina_entry.py").read_text(encoding="utf-8")
    assert "from lamina.cli import main" in entry
    assert "multiprocessing.freeze_support()" in entry
