"""Atomic, durable file writes: the one place Lamina writes a file that must never be torn.

A write goes to a temporary file in the target's own folder (so the rename never crosses a
file system), is flushed to disk, renamed over the target with :func:`os.replace`, and the
folder is flushed too, so the rename itself survives a power loss. After a crash the target
is the old file or the new one, never a mix, and at worst a ``.NAME.*.tmp`` file is left.

- :func:`write_bytes_atomically`: the bytes form.
- :func:`write_atomically`: the callable form, for writers that want a path (PyMuPDF's
  ``save``, :func:`shutil.copyfile`).
- :func:`write_temporary` + :func:`replace_durably`: the same in two steps, for a caller that
  must do something between writing and renaming (record what it is about to rename, or
  link the file somewhere instead).

Usable from every package (DESIGN §2: ``fsutil <- everyone``); stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

_NEW_FILE_MODE = 0o666
"""Mode of a new file before the umask, as :func:`open` creates one."""


def fsync_directory(directory: Path) -> None:
    """Flush a folder's entries to disk, making a rename or a new file in it durable.

    Does nothing where a folder cannot be opened for that (Windows).
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _create_temporary(path: Path, mode: int | None) -> tuple[int, Path]:
    """Create an empty temporary file next to ``path``; return its descriptor and path."""
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            fd = os.open(temporary, flags, _NEW_FILE_MODE if mode is None else mode)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                # O_CREAT's mode is filtered by the umask; state the mode we mean.
                os.chmod(temporary, mode)
            else:
                # Replacing a file keeps who may read it (a private file stays private).
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(temporary, path.stat().st_mode & 0o7777)
        except BaseException:
            os.close(fd)
            temporary.unlink(missing_ok=True)
            raise
        return fd, temporary


def write_temporary(
    path: Path, write: Callable[[Path], None] | bytes, *, mode: int | None = None
) -> Path:
    """Write a new temporary file next to ``path`` and flush it to disk; return its path.

    The caller must then :func:`replace_durably` it over ``path`` (or link it elsewhere) and
    unlink it in any case (``unlink(missing_ok=True)``).

    Args:
        path: the file the temporary one will replace; its folder must exist.
        write: the bytes, or a function that writes the file at the path it is given (the
            file exists, empty, when it is called).
        mode: the permission bits (e.g. ``0o600``); None: those of the file being replaced,
            or of a new file (``0o666`` less the umask).

    Raises:
        OSError: the folder is not writable, the disk is full, ...; nothing is left behind.
        Whatever ``write`` raises, after removing the temporary file.
    """
    path = Path(path)
    fd, temporary = _create_temporary(path, mode)
    try:
        if isinstance(write, bytes):
            with os.fdopen(fd, "wb") as out:
                fd = -1
                out.write(write)
                out.flush()
                os.fsync(out.fileno())
        else:
            os.close(fd)
            fd = -1
            write(temporary)
            with temporary.open("rb+") as out:
                os.fsync(out.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def replace_durably(temporary: Path, path: Path) -> None:
    """Rename ``temporary`` over ``path`` and flush the folder, so the rename survives a crash.

    Raises:
        OSError: the rename failed (``temporary`` is left for the caller to remove).
    """
    os.replace(temporary, path)
    fsync_directory(Path(path).parent)


def write_atomically(
    path: Path, write: Callable[[Path], None] | bytes, *, mode: int | None = None
) -> None:
    """Make ``path`` the file ``write(temporary_path)`` writes (or the bytes ``write``), all
    at once or not at all.

    See :func:`write_temporary` for ``write`` and ``mode``.

    Raises:
        OSError: the file could not be written or renamed; ``path`` is unchanged.
        Whatever ``write`` raises; ``path`` is unchanged.
    """
    temporary = write_temporary(path, write, mode=mode)
    try:
        replace_durably(temporary, Path(path))
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Make ``path`` hold ``data``, all at once or not at all (see :func:`write_atomically`).

    Raises:
        OSError: the file could not be written or renamed; ``path`` is unchanged.
    """
    write_atomically(path, data, mode=mode)
