"""The OpenAPI schema helper accepts what the schemas say and refuses what they do not."""

from __future__ import annotations

import jsonschema
import pytest

from tests.support.openapi import response_schema, validate_component, validate_response


def test_a_component_is_checked_with_its_references() -> None:
    validate_component({"name": "a", "errors": []}, "LayerCreated")
    with pytest.raises(jsonschema.ValidationError):
        validate_component({"name": "a", "errors": [{"no-reason": 1}]}, "LayerCreated")


def test_a_response_is_checked_against_its_operation() -> None:
    path = "/api/documents/{documentId}/layers"
    validate_response({"data": ["a", "b"]}, path, "get")
    with pytest.raises(jsonschema.ValidationError):
        validate_response({"data": [1]}, path, "get")
    assert response_schema("/api/documents/{documentId}", "delete") is None
    with pytest.raises(KeyError):
        response_schema(path, "get", 418)
