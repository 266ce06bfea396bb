"""The import directions of DESIGN.md §2: a package may import only what the table allows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# package -> (app packages it may import, third-party top-level modules it may import)
ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "model": (set(), {"ulid"}),
    "sync": ({"model"}, set()),
    "auth": ({"model"}, {"jwt", "cryptography", "platformdirs"}),
    "pdf": ({"model"}, {"pymupdf", "fitz"}),
    "server": ({"model", "sync", "auth", "pdf"}, {"websockets", "platformdirs"}),
    "client": ({"model", "sync", "auth"}, {"websockets", "platformdirs"}),
    "ui": (
        {"model", "sync", "auth", "pdf", "server", "client"},
        {"PySide6", "shiboken6", "qasync", "platformdirs", "websockets"},
    ),
}
APP_PACKAGES = {"model", "sync", "auth", "pdf", "server", "client", "ui", "cli", "commands"}
GUARDED = {"pymupdf", "fitz", "PySide6", "shiboken6", "qasync", "jwt", "websockets"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _violations(package: str, app: Path = APP) -> list[str]:
    own_allowed, third_allowed = ALLOWED[package]
    bad = []
    for path in sorted((app / package).rglob("*.py")):
        for line, name in _imports(path):
            top, _, rest = name.partition(".")
            where = f"{path.relative_to(app.parent)}:{line} imports {name}"
            if top == "lamina":
                sub = rest.partition(".")[0]
                if sub in APP_PACKAGES and sub != package and sub not in own_allowed:
                    bad.append(where)
                elif sub == "" or sub == "__init__":
                    continue
            elif top in GUARDED and top not in third_allowed:
                bad.append(where)
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_point_one_way(package: str) -> None:
    assert _violations(package) == []


def test_the_checker_catches_a_wrong_arrow(tmp_path: Path) -> None:
    (tmp_path / "app" / "model").mkdir(parents=True)
    (tmp_path / "app" / "model" / "bad.py").write_text(
        "import pymupdf\nfrom lamina.ui import window\n"
    )
    assert len(_violations("model", tmp_path / "app")) == 2
