"""Where the files of ``resources/`` (icons, the sample PDF) are, however Lamina was installed.

From a source checkout, an editable install or the PyInstaller bundle, ``resources/`` sits
beside ``app/``; a regular ``pip install .`` installs it as the data package
``lamina_resources``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def resources_dir() -> Path:
    """Return the directory that holds Lamina's resources.

    Raises:
        FileNotFoundError: the installation has no resources (a broken install).
    """
    beside = Path(__file__).resolve().parent.parent / "resources"
    if (beside / "sample.pdf").is_file():
        return beside
    spec = importlib.util.find_spec("lamina_resources")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "sample.pdf").is_file():
                return Path(location)
    raise FileNotFoundError(
        f"lamina's resources are missing (looked in {beside} and the lamina_resources "
        "package): reinstall lamina"
    )


def resource_path(name: str) -> Path:
    """Return the path of ``resources/<name>``, e.g. ``sample.pdf`` or ``icons/lamina.svg``."""
    return resources_dir() / name
