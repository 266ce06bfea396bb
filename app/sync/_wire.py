"""Checked readers of decoded JSON: each raises RemoteProtocolError naming the path."""

from __future__ import annotations

from typing import Any

from lamina.sync.errors import RemoteProtocolError


def kind_of(value: Any) -> str:
    """Describe a JSON value's type for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def fail(path: str, problem: str) -> RemoteProtocolError:
    """Build the error for a bad value at ``path``."""
    return RemoteProtocolError(f"{path}: {problem}")


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, f"expected an object, got {kind_of(value)}")
    return value


def required(o: dict[str, Any], key: str, path: str) -> Any:
    try:
        return o[key]
    except KeyError:
        raise fail(f"{path}.{key}", "is required") from None


def string(value: Any, path: str, *, nonempty: bool = False, max_len: int = 0) -> str:
    if not isinstance(value, str):
        raise fail(path, f"expected a string, got {kind_of(value)}")
    if nonempty and not value:
        raise fail(path, "expected a non-empty string")
    if max_len and len(value) > max_len:
        raise fail(path, f"expected at most {max_len} characters, got {len(value)}")
    return value


def opt_string(value: Any, path: str) -> str | None:
    return None if value is None else string(value, path)


def integer(value: Any, path: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(path, f"expected an integer, got {kind_of(value)}")
    if value < minimum:
        raise fail(path, f"expected an integer >= {minimum}, got {value}")
    return value


def opt_integer(value: Any, path: str) -> int | None:
    return None if value is None else integer(value, path)


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, f"expected true or false, got {kind_of(value)}")
    return value


def lst(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise fail(path, f"expected a list, got {kind_of(value)}")
    return value


def strings(value: Any, path: str) -> tuple[str, ...]:
    return tuple(string(v, f"{path}[{i}]") for i, v in enumerate(lst(value, path)))


def one_of(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        names = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
        got = repr(value) if isinstance(value, str) else kind_of(value)
        raise fail(path, f"expected {names}, got {got}")
    return value
