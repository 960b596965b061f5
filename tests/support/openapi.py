"""Validate API responses against the Langfuse OpenAPI component schemas."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC = Path(__file__).resolve().parents[1] / "reference" / "langfuse-openapi.yml"


@cache
def _spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(_spec(), default_specification=DRAFT4)
    return Registry().with_resource("spec.yml", resource)


def schema_errors(schema_name: str, instance: Any) -> list[str]:
    """Every way ``instance`` violates ``components.schemas[schema_name]`` (empty when valid)."""
    if schema_name not in _spec()["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name!r} in the spec")
    validator = OAS30Validator(
        {"$ref": f"spec.yml#/components/schemas/{schema_name}"},
        registry=_registry(),
        format_checker=OAS30Validator.FORMAT_CHECKER,
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def assert_matches_schema(schema_name: str, instance: Any) -> None:
    errors = schema_errors(schema_name, instance)
    assert not errors, f"{schema_name} mismatch:\n" + "\n".join(errors[:20])
