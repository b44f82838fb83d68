"""A JSON Schema (draft 2020-12) of `pachinko.toml`, derived from the manifest's Structs.

The schema is read off the same msgspec Structs the loader decodes into (through
`msgspec.inspect`), so a key added, renamed or constrained there shows up here;
descriptions come from each field's `msgspec.Meta(description=...)` on the model.
"""

from __future__ import annotations

import msgspec
import msgspec.inspect as mi

from pachinko.manifest.check import NOT_TOML
from pachinko.manifest.model import Manifest
from pachinko.manifest.values import Duration, Rate

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# NOTE: Manifest fields the parser fills in; they are not TOML keys.

# NOTE: the syntax `Duration.parse` and `Rate.parse` accept (a test holds them together).
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$"
RATE_PATTERN = r"^\s*(0*[1-9]\d*\s*/\s*(s|m)|off)\s*$"
_CONSTRAINTS = {
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
}


def manifest_schema(model: type[msgspec.Struct] = Manifest) -> dict[str, object]:
    """Return the JSON Schema of `pachinko.toml` (of `model`, the root Struct: for tests)."""
    root = _node(mi.type_info(model), "")
    return {
        "$schema": DRAFT,
        "title": "pachinko.toml",
        "description": "The manifest of a falcon-pachinko app (see `pachinko check`).",
        **root,
    }


def missing_descriptions(schema: dict[str, object]) -> list[str]:
    """List the key paths of a schema that have no description (for tests)."""
    missing: list[str] = []

    def walk(node: dict, path: str) -> None:
        for key, value in node.get("properties", {}).items():
            where = f"{path}.{key}" if path else key
            if "description" not in value:
                missing.append(where)
            walk(value, where)
        for inner in ("items", "additionalProperties"):
            if isinstance(node.get(inner), dict):
                walk(node[inner], f"{path}.*" if inner == "additionalProperties" else path)

    walk(schema, "")
    return missing


def _node(info: mi.Type, path: str) -> dict[str, object]:
    """Translate one msgspec type (at a TOML key path) into a JSON Schema."""
    if isinstance(info, mi.Metadata):
        return {**_node(info.type, path), **(info.extra_json_schema or {})}
    if isinstance(info, mi.StructType):
        return _table(info, path)
    if isinstance(info, mi.UnionType):  # NOTE: `X | None`: TOML has no null; None is absent
        options = [_node(t, path) for t in info.types if not isinstance(t, mi.NoneType)]
        return options[0] if len(options) == 1 else {"anyOf": options}
    if isinstance(info, mi.ListType):
        return {"type": "array", "items": _node(info.item_type, path), **_sizes(info, "Items")}
    if isinstance(info, mi.DictType):
        schema: dict[str, object] = {"type": "object", **_sizes(info, "Properties")}
        value = _node(info.value_type, f"{path}.*")
        if value:
            schema["additionalProperties"] = value
        return schema
    if isinstance(info, mi.LiteralType):
        return {"enum": list(info.values)}
    if isinstance(info, mi.CustomType) and issubclass(info.cls, Duration):
        return {
            "anyOf": [
                {"type": "string", "pattern": DURATION_PATTERN},
                {"type": "number", "minimum": 0},
            ],
            "examples": ["250ms", "5s", "2m"],
        }
    if isinstance(info, mi.CustomType) and issubclass(info.cls, Rate):
        return {"type": "string", "pattern": RATE_PATTERN, "examples": ["50/s", "600/m", "off"]}
    if isinstance(info, (mi.AnyType, mi.CustomType)) and getattr(info, "cls", object) is object:
        return {}
    simple = {mi.StrType: "string", mi.IntType: "integer", mi.FloatType: "number"}
    if type(info) in simple:
        constraints = {
            word: getattr(info, name)
            for name, word in _CONSTRAINTS.items()
            if getattr(info, name, None) is not None
        }
        return {"type": simple[type(info)], **constraints}
    if isinstance(info, mi.BoolType):
        return {"type": "boolean"}
    raise TypeError(f"no JSON Schema for manifest type {info!r} at {path or 'the top level'}")


def _table(info: mi.StructType, path: str) -> dict[str, object]:
    """A TOML table: its keys, their descriptions and defaults."""
    config = info.cls.__struct_config__
    properties: dict[str, object] = {}
    required: list[str] = []
    is_open = False
    for field in info.fields:
        if not path and field.name in NOT_TOML:
            continue
        if not config.forbid_unknown_fields and isinstance(field.type, mi.DictType):
            # NOTE: an open table (`[backend]`): unknown keys are collected into this
            # field (the plugin's config), so they are allowed here.
            is_open = True
            continue
        where = f"{path}.{field.encode_name}" if path else field.encode_name
        schema = _node(field.type, where)
        if field.required:
            required.append(field.encode_name)
        else:
            default = (
                field.default_factory() if field.default is msgspec.NODEFAULT else field.default
            )
            if default is not None:
                schema["default"] = _written(default)
        properties[field.encode_name] = schema
    table: dict[str, object] = {"type": "object", "properties": properties}
    if required:
        table["required"] = required
    table["additionalProperties"] = is_open
    return table


def _sizes(info: mi.Type, noun: str) -> dict[str, int]:
    found = {}
    if getattr(info, "min_length", None) is not None:
        found[f"min{noun}"] = info.min_length  # type: ignore[attr-defined]
    if getattr(info, "max_length", None) is not None:
        found[f"max{noun}"] = info.max_length  # type: ignore[attr-defined]
    return found


def _written(value: object) -> object:
    """A default as a user would write it in TOML (`"5s"`, `"50/s"`)."""
    if isinstance(value, Duration):
        seconds = float(value)
        for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
            if seconds >= size and seconds % size == 0:
                return f"{seconds / size:g}{unit}"
        return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"
    if isinstance(value, Rate):
        return "off" if value.is_off else f"{value.count}/{'s' if value.per == 1.0 else 'm'}"
    if isinstance(value, msgspec.Struct):  # NOTE: a table left out: each key has its default
        return {}
    if isinstance(value, list):
        return [_written(item) for item in value]
    if isinstance(value, dict):
        return {k: _written(v) for k, v in value.items()}
    return value
