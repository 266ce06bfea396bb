"""What `pip install .` brings: the PyMuPDF module without the add-ons Lamina never uses."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
UNUSED = {"pymupdf", "pymupdf4llm", "pymupdf-layout", "onnxruntime", "networkx"}
"""The full `pymupdf` 2.x and what it requires: ~130 MB that no part of Lamina imports."""


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _closure(names: list[str]) -> set[str]:
    """Return the installed distributions that ``names`` require, transitively (no extras)."""
    seen: set[str] = set()
    todo = [_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_name(req.name))
    return seen


def test_the_project_depends_on_pymupdf_lite_not_the_full_pymupdf() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {_name(Requirement(r).name) for r in project["dependencies"]}
    assert "pymupdf-lite" in names
    assert not names & UNUSED


def test_nothing_installed_for_lamina_pulls_the_full_pymupdf_back_in() -> None:
    installed = _closure(["lamina"])
    assert "pymupdf-lite" in installed
    assert not installed & UNUSED, sorted(installed & UNUSED)
    # The `pymupdf` module Lamina imports is the lite distribution's.
    assert metadata.packages_distributions()["pymupdf"] == ["pymupdf-lite"]
