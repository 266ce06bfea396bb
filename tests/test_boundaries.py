"""The import directions of DESIGN.md §2: a unit of ``app/`` may import only what its row allows.

A unit is a package of ``app/`` (``model``, ``sync``...) or one of its top-level modules
(``cli``, ``applog``, ``assets``, ``fsutil``). Every import counts -- at the top of a module,
inside a function (lazy), under ``TYPE_CHECKING``, relative, ``from lamina import X``, and
``importlib.import_module("...")`` with a literal name. Third-party modules are checked against
an allow-list per unit: every top-level module that is neither in the standard library
(``sys.stdlib_module_names``) nor ``lamina`` must be listed in the importing unit's row.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"


@dataclass(frozen=True)
class Row:
    """What one unit may import: other units of lamina, and third-party top-level modules."""

    units: frozenset[str]
    third_party: frozenset[str]


def row(units: Iterable[str] = (), third_party: Iterable[str] = ()) -> Row:
    """Return the row of a unit that may import ``units`` of lamina and ``third_party``."""
    return Row(frozenset(units), frozenset(third_party))


EVERYONE = frozenset({"fsutil"})
"""Units every unit may import (``lamina`` itself, the version and the map, is implied)."""

CORE = {"model", "sync", "auth", "pdf", "server", "client"}

ROWS: dict[str, Row] = {
    "model": row(set(), {"ulid"}),
    "sync": row({"model"}),
    "auth": row({"model"}, {"jwt", "cryptography"}),
    # defusedxml parses XFDF without entity expansion.
    "pdf": row({"model"}, {"pymupdf", "defusedxml"}),
    # ulid: the ids the server mints itself (documents, epochs).
    # psycopg: the PostgreSQL store (lamina serve --database).
    "server": row({"model", "sync", "auth", "pdf"}, {"aiohttp", "ulid", "psycopg"}),
    "client": row({"model", "sync", "auth"}, {"websockets", "platformdirs"}),
    "ui": row({*CORE, "applog", "assets"}, {"PySide6", "qasync", "platformdirs"}),
    # The verbs: everything but the parser that imports them (commands <- cli).
    "commands": row({*CORE, "ui", "applog", "assets"}, {"platformdirs"}),
    "cli": row({*CORE, "ui", "commands", "applog", "assets"}),
    # Leaves: usable from everywhere, importing nothing of lamina.
    "fsutil": row(),
    "applog": row(set(), {"platformdirs"}),
    "assets": row(),
}


def _units(app: Path) -> list[str]:
    """Return the units of ``app``: its packages and its top-level modules but ``__init__``."""
    found = [p.name for p in app.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    found += [p.stem for p in app.glob("*.py") if p.stem != "__init__"]
    return sorted(found)


def _files(app: Path, unit: str) -> list[Path]:
    package = app / unit
    return sorted(package.rglob("*.py")) if package.is_dir() else [app / f"{unit}.py"]


def _module_name(app: Path, path: Path) -> list[str]:
    """Return the dotted name of ``path`` as parts, e.g. ``["lamina", "ui", "app"]``."""
    parts = ["lamina", *path.relative_to(app).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(app: Path, path: Path) -> list[tuple[int, str]]:
    """Return ``(line, absolute module name)`` of every import in ``path``, however written."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(app, path)
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "lamina":
                # ``from lamina import cli`` imports the module lamina.cli.
                found.extend((node.lineno, f"lamina.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.append((node.lineno, first.value))
    return sorted(found)


def _third_parties(unit: str, app: Path = APP) -> set[str]:
    """Return the third-party top-level modules ``unit`` imports."""
    return {
        top
        for path in _files(app, unit)
        for _, name in _imports(app, path)
        if (top := name.partition(".")[0]) not in ("__future__", "lamina")
        and top not in sys.stdlib_module_names
    }


def _violations(unit: str, app: Path = APP, rows: dict[str, Row] = ROWS) -> list[str]:
    """Return every import of ``unit`` its row does not allow, as ``path:line imports name``."""
    allowed = rows[unit]
    units = set(_units(app))
    bad = []
    for path in _files(app, unit):
        for line, name in _imports(app, path):
            top, _, rest = name.partition(".")
            where = f"{path.relative_to(app.parent)}:{line} imports {name}"
            if top == "lamina":
                target = rest.partition(".")[0]
                if target in ("", unit) or target in EVERYONE or target not in units:
                    # lamina itself (the version), the unit's own modules, a leaf, or a
                    # name of lamina (``from lamina import __version__``).
                    continue
                if target not in allowed.units:
                    bad.append(where)
            elif top == "__future__" or top in sys.stdlib_module_names:
                continue
            elif top not in allowed.third_party:
                bad.append(where)
    return bad


def test_every_unit_of_app_has_a_row() -> None:
    assert set(_units(APP)) == set(ROWS)


@pytest.mark.parametrize("unit", sorted(ROWS))
def test_imports_point_one_way_and_third_parties_are_allowed(unit: str) -> None:
    assert _violations(unit) == []


@pytest.mark.parametrize("unit", sorted(ROWS))
def test_the_allow_list_names_only_what_the_unit_imports(unit: str) -> None:
    # A stale entry would let the next import of it through unnoticed.
    assert ROWS[unit].third_party <= _third_parties(unit)


def test_no_unit_imports_the_command_line_parser() -> None:
    assert not [unit for unit, r in ROWS.items() if "cli" in r.units]
    assert "commands" in ROWS["cli"].units


def test_the_checker_catches_wrong_arrows_and_unlisted_third_parties(tmp_path: Path) -> None:
    app = tmp_path / "app"
    for package in ("model", "ui", "commands"):
        (app / package).mkdir(parents=True)
        (app / package / "__init__.py").write_text("")
    (app / "cli.py").write_text("")
    (app / "fsutil.py").write_text("import os\nimport yaml\n")
    (app / "model" / "bad.py").write_text(
        "from __future__ import annotations\n"
        "import json\n"
        "import pymupdf\n"  # 3: pymupdf is the pdf package's alone
        "from lamina.ui import window\n"  # 4: model -> ui
        "from lamina import __version__, fsutil\n"
        "from . import ids\n"
        "def lazy():\n"
        "    import requests\n"  # 8: not on the model's list
        "    from ..ui.page_view import PageView\n"  # 9: relative, model -> ui
        "    importlib.import_module('lamina.ui')\n"  # 10: dynamic, model -> ui
        "from lamina import cli\n"  # 11: nobody imports cli
    )
    (app / "commands" / "verb.py").write_text(
        "from lamina.cli import add_common_options\n"  # commands -> cli: the old cycle
        "from lamina.ui import app\n"
    )
    rows = {
        "model": row(set(), {"ulid"}),
        "ui": row({"model"}, {"PySide6"}),
        "commands": row({"model", "ui"}),
        "cli": row({"model", "ui", "commands"}),
        "fsutil": row(),
    }
    assert _violations("model", app, rows) == [
        "app/model/bad.py:3 imports pymupdf",
        "app/model/bad.py:4 imports lamina.ui",
        "app/model/bad.py:8 imports requests",
        "app/model/bad.py:9 imports lamina.ui.page_view",
        "app/model/bad.py:10 imports lamina.ui",
        "app/model/bad.py:11 imports lamina.cli",
    ]
    assert _violations("commands", app, rows) == ["app/commands/verb.py:1 imports lamina.cli"]
    assert _violations("fsutil", app, rows) == ["app/fsutil.py:2 imports yaml"]
    assert _third_parties("model", app) == {"pymupdf", "requests"}
    assert _violations("ui", app, rows) == []
