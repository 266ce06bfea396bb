"""The host's signing key pair: created once in the data directory, loaded afterwards.

``<data_dir>/keys/private.pem`` (mode 0600, in a 0700 directory) signs tokens and never leaves
the host; ``<data_dir>/keys/public.pem`` is all a server needs to verify them (DESIGN §5).
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from lamina.auth.errors import KeyFileError
from lamina.fsutil import fsync_directory, write_bytes_atomically, write_temporary

log = logging.getLogger(__name__)

ALGORITHMS: tuple[str, ...] = ("ES256", "ES512", "RS256", "RS512")
"""The signing algorithms Lamina accepts (Document Engine's list); fixed in code."""

DEFAULT_ALGORITHM = "ES256"
MIN_RSA_BITS = 2048
NEW_RSA_BITS = 3072
_CURVE_FOR = {"ES256": ec.SECP256R1, "ES512": ec.SECP521R1}

KEYS_DIR = "keys"
PRIVATE_KEY_FILE = "private.pem"
PUBLIC_KEY_FILE = "public.pem"


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key, its PEM public key, and the algorithm tokens are signed with."""

    private_pem: bytes
    public_pem: bytes
    algorithm: str

    def __repr__(self) -> str:
        # Never let the private key end up in a log line or a traceback.
        return f"KeyPair(algorithm={self.algorithm!r}, public_pem=<{len(self.public_pem)} bytes>)"


def private_key_path(data_dir: Path) -> Path:
    """Return where the private key of ``data_dir`` lives."""
    return data_dir / KEYS_DIR / PRIVATE_KEY_FILE


def public_key_path(data_dir: Path) -> Path:
    """Return where the public key of ``data_dir`` lives."""
    return data_dir / KEYS_DIR / PUBLIC_KEY_FILE


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if Lamina signs with it, else raise :class:`KeyFileError`."""
    if algorithm not in ALGORITHMS:
        raise KeyFileError(
            f"unsupported signing algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}"
        )
    return algorithm


def algorithms_for_key(key: PrivateKeyTypes | PublicKeyTypes) -> tuple[str, ...]:
    """Return the accepted algorithms a key can sign or verify (empty when none)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return ("RS256", "RS512") if key.key_size >= MIN_RSA_BITS else ()
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ("ES256",)
        if isinstance(key.curve, ec.SECP521R1):
            return ("ES512",)
    return ()


def _describe_key(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"an rsa {key.key_size}-bit key"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"an ec {key.curve.name} key"
    return f"a {type(key).__name__.lstrip('_').lower()} key"


def generate_private_key(algorithm: str = DEFAULT_ALGORITHM) -> PrivateKeyTypes:
    """Return a fresh private key for ``algorithm`` (P-256, P-521 or RSA 3072)."""
    check_algorithm(algorithm)
    if algorithm in _CURVE_FOR:
        return ec.generate_private_key(_CURVE_FOR[algorithm]())
    return rsa.generate_private_key(public_exponent=65537, key_size=NEW_RSA_BITS)


def private_key_from_pem(data: bytes, source: str = "private key") -> PrivateKeyTypes:
    """Parse a PEM private key (no password), raising :class:`KeyFileError` with ``source``."""
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{source} is not a pem private key without a password") from exc


def public_key_from_pem(data: bytes, source: str = "public key") -> PublicKeyTypes:
    """Parse a PEM public key, raising :class:`KeyFileError` with ``source`` in the message."""
    if b"PRIVATE KEY" in data:
        raise KeyFileError(f"{source} holds a private key: give the public key (public.pem)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{source} is not a pem public key") from exc
    if not algorithms_for_key(key):
        raise KeyFileError(
            f"{source} is {_describe_key(key)}: tokens need rsa of at least "
            f"{MIN_RSA_BITS} bits, ec p-256 or ec p-521"
        )
    return key


def keypair_from_private_pem(private_pem: bytes, algorithm: str | None = None) -> KeyPair:
    """Return the key pair of a PEM private key, signing with ``algorithm`` or the key's own.

    Raises:
        KeyFileError: the key cannot sign ``algorithm``, or is not a usable key.
    """
    key = private_key_from_pem(private_pem)
    usable = algorithms_for_key(key)
    if not usable:
        raise KeyFileError(
            f"the private key is {_describe_key(key)}: tokens need rsa of at least "
            f"{MIN_RSA_BITS} bits, ec p-256 or ec p-521"
        )
    if algorithm is None:
        algorithm = usable[0]
    check_algorithm(algorithm)
    if algorithm not in usable:
        raise KeyFileError(
            f"the private key is {_describe_key(key)} and cannot sign {algorithm}: "
            f"use {' or '.join(usable)}"
        )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem=private_pem, public_pem=public_pem, algorithm=algorithm)


def new_keypair(algorithm: str = DEFAULT_ALGORITHM) -> KeyPair:
    """Return a fresh key pair in memory (nothing is written)."""
    key = generate_private_key(algorithm)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return keypair_from_private_pem(private_pem, algorithm)


def private_sqlite_file(path: Path) -> None:
    """Make ``path``'s directory 0700 and the file 0600, creating an empty file if missing.

    For SQLite databases that hold tokens or records (DESIGN §5): created before SQLite
    opens them, since SQLite gives its ``-wal`` and ``-shm`` files the database's mode.

    Raises:
        OSError: the directory or file cannot be made or changed.
    """
    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


def _ensure_keys_dir(data_dir: Path) -> Path:
    directory = data_dir / KEYS_DIR
    if not directory.is_dir():
        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    return directory


def _read_private(path: Path) -> bytes:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read private key {path}: {exc.strerror}") from exc
    if mode & 0o077:
        log.warning("private key %s is readable by others (mode %o): chmod 600 it", path, mode)
    return data


def load_or_create_keypair(data_dir: Path, algorithm: str | None = None) -> KeyPair:
    """Return the host's key pair, creating ``<data_dir>/keys/`` on first use.

    Args:
        data_dir: the server data directory (``--data``).
        algorithm: the signing algorithm. A new key is made for it (ES256 when None); an
            existing key is used with it when the key can sign it (its own algorithm when
            None).

    Raises:
        KeyFileError: the existing key cannot sign ``algorithm``, or a key file is unusable.
    """
    if algorithm is not None:
        check_algorithm(algorithm)
    private_path = private_key_path(data_dir)
    public_path = public_key_path(data_dir)
    if not private_path.exists():
        directory = _ensure_keys_dir(data_dir)
        fresh = new_keypair(algorithm or DEFAULT_ALGORITHM)
        temp = write_temporary(private_path, fresh.private_pem, mode=0o600)
        try:
            # link() never replaces: if another process made a key meanwhile, theirs wins.
            os.link(temp, private_path)
        except FileExistsError:
            pass
        except OSError:
            # A file system without hard links: replace() is still atomic, just not exclusive.
            os.replace(temp, private_path)
        finally:
            temp.unlink(missing_ok=True)
        fsync_directory(directory)
    private_pem = _read_private(private_path)
    try:
        keypair = keypair_from_private_pem(private_pem, algorithm)
    except KeyFileError as exc:
        raise KeyFileError(f"{private_path}: {exc}") from exc
    current = public_path.read_bytes() if public_path.exists() else None
    if current != keypair.public_pem:
        _ensure_keys_dir(data_dir)
        write_bytes_atomically(public_path, keypair.public_pem, mode=0o644)
    return keypair


def load_public_key(path: Path) -> bytes:
    """Return the PEM bytes of the public key at ``path``, checked to be a usable key.

    Raises:
        KeyFileError: the file is missing, unreadable, a private key, or not a usable key.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"public key {path} does not exist: run `lamina token --data DIR` once to create "
            f"the key pair, or copy the host's public.pem there"
        ) from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}") from exc
    public_key_from_pem(data, source=str(path))
    return data
