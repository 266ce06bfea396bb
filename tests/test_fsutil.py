"""Atomic writes: the target is the old file or the new one, never a mix, and nothing is left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from lamina.fsutil import (
    replace_durably,
    write_atomically,
    write_bytes_atomically,
    write_temporary,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_bytes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.pdf"
    target.write_bytes(b"old")
    write_bytes_atomically(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert _leftovers(tmp_path) == []


def test_a_writer_gets_a_path_next_to_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    seen: list[Path] = []

    def write(path: Path) -> None:
        seen.append(path)
        assert path.exists() and path.read_bytes() == b""
        path.write_bytes(b"%PDF-1.7")

    write_atomically(target, write)
    assert target.read_bytes() == b"%PDF-1.7"
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".out.pdf.")
    assert not seen[0].exists()


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "keep.pdf"
    target.write_bytes(b"old")

    def write(path: Path) -> None:
        path.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, write)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes_atomically(tmp_path / "missing" / "x", b"x")


@pytest.mark.skipif(os.name != "posix", reason="posix permission bits")
def test_modes_given_kept_or_from_the_umask(tmp_path: Path) -> None:
    private = tmp_path / "private.pem"
    write_bytes_atomically(private, b"secret", mode=0o600)
    assert _mode(private) == 0o600
    write_bytes_atomically(private, b"rotated")
    assert _mode(private) == 0o600  # replacing a private file keeps it private
    old = os.umask(0o022)
    try:
        write_bytes_atomically(tmp_path / "export.pdf", b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "export.pdf") == 0o644  # a new file, as open() would make it


def test_two_steps_let_the_caller_act_between_write_and_rename(tmp_path: Path) -> None:
    target = tmp_path / "doc.pdf"
    target.write_bytes(b"old")
    temporary = write_temporary(target, b"new")
    try:
        assert target.read_bytes() == b"old"
        assert temporary.read_bytes() == b"new"
        replace_durably(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []
