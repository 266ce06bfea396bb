"""Resources are found from a checkout and from a regular (non-editable) install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lamina.assets import resource_path

from tests.conftest import REPO


def test_resources_are_found_in_a_checkout() -> None:
    assert resource_path("sample.pdf").read_bytes().startswith(b"%PDF")
    assert resource_path("icons/lamina.svg").is_file()


def test_a_regular_install_carries_the_resources(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in ("app", "resources"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, source],
        check=True,
        capture_output=True,
    )
    code = "from lamina.assets import resource_path; print(resource_path('sample.pdf'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(out).is_relative_to(target)
    assert Path(out).read_bytes().startswith(b"%PDF")
    # The import package is `lamina`; no top-level `app` lands in site-packages to clash with
    # another project's.
    assert (target / "lamina" / "cli.py").is_file()
    assert not (target / "app").exists()
