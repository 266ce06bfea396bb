"""Document Engine's OpenAPI 1.9.0 schemas, for checking what the HTTP API answers.

:func:`validate_component` checks a value against ``components/schemas/NAME``;
:func:`validate_response` against the JSON schema an operation documents for a status
(``$ref`` resolves inside the one YAML document, read from ../shared/reference).
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
import yaml

from tests.support.corpus import SHARED

OPENAPI = SHARED / "reference" / "document-engine-openapi-1.9.0.yml"
BASE = "urn:document-engine-openapi-1.9.0"


@functools.cache
def document() -> dict[str, Any]:
    """Return the whole OpenAPI document."""
    loaded: dict[str, Any] = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource = referencing.Resource(document(), referencing.jsonschema.DRAFT202012)
    return referencing.Registry().with_resource(BASE, resource)


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _rebased(schema: Any) -> Any:
    """Point local ``#/...`` references at the registered document."""
    if isinstance(schema, dict):
        return {
            k: (
                BASE + v
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebased(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebased(v) for v in schema]
    return schema


def validate_component(value: Any, name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``value`` is a valid ``name``."""
    _validator({"$ref": f"{BASE}#/components/schemas/{name}"}).validate(value)


def response_schema(path: str, method: str, status: int = 200) -> dict[str, Any] | None:
    """Return the JSON schema ``method path`` documents for ``status`` (None: no JSON body)."""
    operation = document()["paths"][path][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        raise KeyError(f"{method} {path} documents no {status} response")
    content = response.get("content", {})
    for kind in ("application/json", "multipart/form-data"):
        if kind in content and "schema" in content[kind]:
            schema: dict[str, Any] = _rebased(content[kind]["schema"])
            return schema
    return None


def validate_response(value: Any, path: str, method: str, status: int = 200) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``value`` is what ``method path``
    documents for ``status``; KeyError when it documents no such response."""
    schema = response_schema(path, method, status)
    if schema is not None:
        _validator(schema).validate(value)
