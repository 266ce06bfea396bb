"""Desktop integration files: the menu entry, AppStream metadata, icons and their installer."""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lamina import __version__

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(PACKAGING / "lamina.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def _list(value: str) -> list[str]:
    assert value.endswith(";"), f"{value!r} must end with ';'"
    return value.rstrip(";").split(";")


def test_desktop_entry_launches_lamina_with_a_file_or_link() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Lamina"
    assert entry["Exec"] == "lamina %u"
    assert entry["Icon"] == "lamina"
    assert entry["Terminal"] == "false"
    assert {"Office", "Viewer"} <= set(_list(entry["Categories"]))


def test_desktop_entry_opens_pdfs_and_lamina_links() -> None:
    mime_types = _list(_desktop_entry()["MimeType"])
    assert "application/pdf" in mime_types
    assert "x-scheme-handler/lamina" in mime_types


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils")
def test_desktop_entry_passes_desktop_file_validate() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / "lamina.desktop")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _metainfo() -> ET.Element:
    return ET.parse(PACKAGING / "io.lamina.Lamina.metainfo.xml").getroot()


def test_metainfo_describes_the_desktop_app() -> None:
    root = _metainfo()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == "io.lamina.Lamina"
    assert root.findtext("name") == "Lamina"
    assert root.findtext("summary")
    assert root.findtext("metadata_license") == "CC0-1.0"
    description = root.find("description")
    assert description is not None and description.find("p") is not None
    assert root.findtext("provides/binary") == "lamina"
    assert root.findtext("icon") == "lamina"


def test_metainfo_points_at_the_desktop_entry_we_ship() -> None:
    launchable = _metainfo().find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert (PACKAGING / (launchable.text or "")).is_file()


def test_metainfo_license_and_release_match_the_project() -> None:
    # A release that forgets to update the metadata shows users the wrong version in stores.
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    root = _metainfo()
    license_ = project["license"]
    # PEP 639 SPDX string, or the older {text = ...} table.
    spdx = license_ if isinstance(license_, str) else license_["text"]
    assert root.findtext("project_license") == spdx
    newest = root.find("releases/release")
    assert newest is not None and newest.get("version") == __version__


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_passes_appstreamcli_validate() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(PACKAGING / "io.lamina.Lamina.metainfo.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _png_size(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()[:26]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height, _depth, color_type = struct.unpack(">IIBB", data[16:26])
    return width, height, color_type


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_has_its_pixel_size_and_transparency(size: int) -> None:
    path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "lamina.png"
    width, height, color_type = _png_size(path)
    assert (width, height) == (size, size)
    assert color_type == 6, "icons need an alpha channel (RGBA)"


def test_window_icon_and_svg_source_exist() -> None:
    assert _png_size(ICONS / "lamina.png")[:2] == (256, 256)
    svg = ET.parse(ICONS / "lamina.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox") == "0 0 512 512"


def test_install_script_puts_files_where_desktops_look(tmp_path: Path) -> None:
    data = tmp_path / "share"
    launcher = tmp_path / "bin dir" / "lamina"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(data)}

    script = PACKAGING / "install-desktop-files.sh"
    subprocess.run(["bash", str(script), "--exec", str(launcher)], env=env, check=True)

    installed = data / "applications" / "lamina.desktop"
    text = installed.read_text(encoding="utf-8")
    # The menu runs the absolute path (quoted: it has a space), not whatever PATH holds.
    assert f'Exec="{launcher}" %u' in text.splitlines()
    assert f"TryExec={launcher}" in text.splitlines()
    assert (data / "metainfo" / "io.lamina.Lamina.metainfo.xml").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "lamina.svg").is_file()
    for size in SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "lamina.png"
        assert _png_size(png)[:2] == (size, size)

    subprocess.run(["bash", str(script), "--uninstall"], env=env, check=True)
    assert not installed.exists()
    assert not list((data / "icons").rglob("lamina.*"))


def test_install_script_refuses_a_missing_executable(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run(
        ["bash", str(PACKAGING / "install-desktop-files.sh"), "--exec", str(tmp_path / "nope")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "is not an executable file" in result.stderr
    assert not (tmp_path / "share" / "applications").exists()


def _spec_excludes() -> list[str]:
    tree = ast.parse((PACKAGING / "lamina.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "excludes":
            return list(ast.literal_eval(node.value))
    raise AssertionError("lamina.spec has no excludes list")


def test_bundle_leaves_out_only_modules_lamina_does_not_import() -> None:
    # An excluded module that app/ imports would crash the bundle at runtime, not at build time.
    excluded = set(_spec_excludes())
    assert {"onnxruntime", "numpy", "pymupdf.layout", "pymupdf4llm"} <= excluded
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert isinstance(node, ast.Import | ast.ImportFrom)
                parts = name.split(".")
                prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
                if prefixes & excluded:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
    assert offenders == []


def test_render_icons_regenerates_every_size_from_the_svg(tmp_path: Path) -> None:
    # After an SVG change, one command must rebuild all committed PNGs.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(
        [sys.executable, str(PACKAGING / "render_icons.py"), "--out", str(tmp_path)],
        env=env,
        check=True,
        capture_output=True,
    )
    for size in SIZES:
        png = tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "lamina.png"
        assert _png_size(png) == (size, size, 6)
    assert _png_size(tmp_path / "lamina.png")[:2] == (256, 256)
