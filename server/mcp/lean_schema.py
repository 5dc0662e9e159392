"""The tool list as an agent's context pays for it: every MCP session reads `tools/list` into its
prompt, so its schemas carry no repeated prose. Input schemas keep every argument's type, range
and one-line description with $refs inlined; a nested object's fields keep their names and types
(the argument's description says what they are), and length limits and name patterns are left to
the server, which refuses with an error naming the limit. Output schemas keep the top level's
fields and types (a nested object is `object`). The full schemas, with what each field means, are
the `ragate://schema/{tool}` resource. Both stay faithful: what the server accepts and returns
validates against them."""

from __future__ import annotations

from typing import Any

NULL = {"type": "null"}
# What a shape keeps of a leaf: its type and the bounds a caller must respect.
KEPT = ("type", "enum", "const", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
LEFT_TO_THE_SERVER = ("$defs", "title", "maxLength", "minLength", "maxItems", "maxProperties", "pattern")


def one_line(text: str) -> str:
    return " ".join(text.split())


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    target = defs[ref.rsplit("/", 1)[-1]]
    # The property's own description says more about this use than the model's docstring does.
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _nullable(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the schema without its `null` alternative, whether null was allowed)."""
    alts = schema.get("anyOf")
    if not alts or len(alts) != 2 or NULL not in alts:
        return schema, False
    other = alts[1] if alts[0] == NULL else alts[0]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**other, **rest}, True


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, NULL]}


def lean_input(schema: dict[str, Any], defs: dict[str, Any] | None = None, *, depth: int = 0) -> dict[str, Any]:
    """An argument schema as the module's docstring says: `depth` 0 is the arguments object, 1 an
    argument, deeper a field inside one."""
    defs = schema.get("$defs", {}) if defs is None else defs
    schema, nullable = _nullable(_resolve(schema, defs))
    schema = _resolve(schema, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in LEFT_TO_THE_SERVER or (key == "default" and value is None):
            continue
        if key == "description":
            if depth <= 1:
                out[key] = one_line(value)
        elif key == "properties":
            out[key] = {name: lean_input(s, defs, depth=depth + 1) for name, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = lean_input(value, defs, depth=depth + 1)
        elif key == "anyOf":
            out[key] = [lean_input(s, defs, depth=depth) for s in value]
        else:
            out[key] = value
    return _with_null(out) if nullable else out


def _shape(schema: dict[str, Any], defs: dict[str, Any], *, top: bool) -> dict[str, Any]:
    schema, nullable = _nullable(_resolve(schema, defs))
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        out: dict[str, Any] = {"anyOf": [_shape(s, defs, top=False) for s in schema["anyOf"]]}
    elif schema.get("type") == "object" or "properties" in schema:
        out = {"type": "object"}
        if top and "properties" in schema:
            out["properties"] = {name: _shape(s, defs, top=False) for name, s in schema["properties"].items()}
    elif schema.get("type") == "array":
        out = {"type": "array", "items": _shape(schema.get("items", {}), defs, top=False)}
    else:
        out = {k: schema[k] for k in KEPT if k in schema}
    return _with_null(out) if nullable else out


def lean_output(schema: dict[str, Any]) -> dict[str, Any]:
    """The response's top-level fields and their types; a nested object is `object`."""
    return _shape(schema, schema.get("$defs", {}), top=True)
