"""Values that satisfy a JSON schema: the fake's tool arguments and structured outputs."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def instance_of(schema: Any, hint: str, defs: Json | None = None) -> Any:
    """A value that satisfies a JSON schema (the subset tools and structured outputs use)."""
    if not isinstance(schema, dict):
        return hint
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        return instance_of(defs.get(schema["$ref"].rsplit("/", 1)[-1]), hint, defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return instance_of(schema[key][0], hint, defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: instance_of(sub, hint, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance_of(schema.get("items"), hint, defs)]
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(str(kind), hint)
