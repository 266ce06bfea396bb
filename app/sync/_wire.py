"""The sync codec's checked JSON readers: :mod:`lamina.model.json_values`, as protocol errors.

The readers and their messages live once, in :mod:`lamina.model.json_values`; here each one
raises :class:`~lamina.sync.errors.RemoteProtocolError` instead (the peer sent a bad value), so
the codec's callers handle one error type. The names are short because the codec reads
hundreds of fields with them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from lamina.model import json_values as jv
from lamina.model.errors import JsonValueError
from lamina.sync.errors import RemoteProtocolError

_P = ParamSpec("_P")
_T = TypeVar("_T")

kind_of = jv.kind_of


def fail(path: str, problem: str) -> RemoteProtocolError:
    """Build the error for a bad value at ``path``."""
    return RemoteProtocolError(str(JsonValueError(path, problem)))


def _as_protocol_error(read: Callable[_P, _T]) -> Callable[_P, _T]:
    @functools.wraps(read)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return read(*args, **kwargs)
        except JsonValueError as exc:
            raise RemoteProtocolError(str(exc)) from None

    return checked


obj = _as_protocol_error(jv.as_object)
required = _as_protocol_error(jv.required)
string = _as_protocol_error(jv.as_string)
boolean = _as_protocol_error(jv.as_boolean)
lst = _as_protocol_error(jv.as_list)
strings = _as_protocol_error(jv.as_strings)
one_of = _as_protocol_error(jv.as_one_of)
_integer = _as_protocol_error(jv.as_integer)


def integer(value: Any, path: str, *, minimum: int = 0) -> int:
    """Return ``value`` if it is an integer of at least ``minimum`` (0: counts and sequences)."""
    return _integer(value, path, minimum=minimum)


def opt_string(value: Any, path: str) -> str | None:
    """Return ``value`` if it is a string or null."""
    return None if value is None else string(value, path)


def opt_integer(value: Any, path: str) -> int | None:
    """Return ``value`` if it is a non-negative integer or null."""
    return None if value is None else integer(value, path)
