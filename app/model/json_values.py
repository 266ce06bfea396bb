"""Checked readers of decoded JSON: the one place a JSON value's type is checked.

Every reader takes the value and its path (``push.changes[2].set``), returns the value typed,
and raises :class:`~lamina.model.errors.JsonValueError` naming the path otherwise, so every
message reads the same: ``annotations[3].pageIndex: expected an integer, got a string``. A
caller that reports another error type (Instant JSON, the sync protocol) converts it once, at
its entry point.

Booleans are not numbers here (``True`` is not an integer), and numbers must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from lamina.model.errors import JsonValueError

JSON: TypeAlias = Any
"""A value as :mod:`json` reads it (dict, list, str, int, float, bool, None)."""


def kind_of(value: JSON) -> str:
    """Describe a JSON value's type for an error message (``a string``, ``a list of 3``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_number(value: JSON) -> bool:
    """Return whether ``value`` is a finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def as_object(value: JSON, path: str) -> dict[str, JSON]:
    """Return ``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise JsonValueError(path, f"expected an object, got {kind_of(value)}")
    return value


def required(obj: Mapping[str, JSON], key: str, path: str) -> JSON:
    """Return ``obj[key]``; a missing key is an error at ``path.key``."""
    try:
        return obj[key]
    except KeyError:
        raise JsonValueError(f"{path}.{key}" if path else key, "is required") from None


def as_list(value: JSON, path: str) -> list[JSON]:
    """Return ``value`` if it is a JSON list."""
    if not isinstance(value, list):
        raise JsonValueError(path, f"expected a list, got {kind_of(value)}")
    return value


def as_string(value: JSON, path: str, *, nonempty: bool = False, max_len: int = 0) -> str:
    """Return ``value`` if it is a string (non-empty, at most ``max_len`` characters if 0)."""
    if not isinstance(value, str):
        raise JsonValueError(path, f"expected a string, got {kind_of(value)}")
    if nonempty and not value:
        raise JsonValueError(path, "expected a non-empty string")
    if max_len and len(value) > max_len:
        raise JsonValueError(path, f"expected at most {max_len} characters, got {len(value)}")
    return value


def as_strings(value: JSON, path: str) -> tuple[str, ...]:
    """Return ``value`` if it is a list of strings."""
    return tuple(as_string(v, f"{path}[{i}]") for i, v in enumerate(as_list(value, path)))


def as_integer(value: JSON, path: str, *, minimum: int | None = None) -> int:
    """Return ``value`` if it is an integer (at least ``minimum`` when given)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise JsonValueError(path, f"expected an integer, got {kind_of(value)}")
    if minimum is not None and value < minimum:
        raise JsonValueError(path, f"expected an integer >= {minimum}, got {value}")
    return value


def as_number(value: JSON, path: str) -> float:
    """Return ``value`` if it is a finite number (an int stays an int)."""
    if not is_number(value):
        raise JsonValueError(path, f"expected a number, got {kind_of(value)}")
    number: float = value
    return number


def as_boolean(value: JSON, path: str) -> bool:
    """Return ``value`` if it is ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise JsonValueError(path, f"expected true or false, got {kind_of(value)}")
    return value


def as_one_of(value: JSON, path: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        names = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
        got = repr(value) if isinstance(value, str) else kind_of(value)
        raise JsonValueError(path, f"expected {names}, got {got}")
    return value
