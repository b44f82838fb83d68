"""Payload types -> AsyncAPI Schema objects, via msgspec's JSON Schema components.

msgspec writes JSON Schema 2020-12; an AsyncAPI 3.0 Schema object is a superset of
draft 07. The differences that matter are translated here: `discriminator` is a
property name (msgspec writes an object with `propertyName` and `mapping`), and
tuples use `items` as an array (msgspec writes `prefixItems`).
"""

from __future__ import annotations

import copy
import re
import typing

import msgspec

_PREFIX = "#/components/schemas/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")  # AsyncAPI component names


class PayloadSchemas:
    """The schemas of one document: each type added gets a schema; shared parts are components."""

    def __init__(self) -> None:
        self._types: list[object] = []
        self.schemas: list[dict[str, object]] = []
        self.components: dict[str, dict[str, object]] = {}

    def add(self, type_: object) -> int:
        """Register a payload type (`object` for any value); return its index in `schemas`."""
        try:
            type_ = typing.Any if type_ is object else type_
            msgspec.json.schema(type_, schema_hook=_hook)
        except (TypeError, ValueError):  # NOTE: not describable (a plain class): any value
            type_ = typing.Any
        self._types.append(type_)
        return len(self._types) - 1

    def build(self) -> None:
        """Generate every registered type's schema at once, so components are shared."""
        schemas, components = msgspec.json.schema_components(
            self._types, schema_hook=_hook, ref_template=_PREFIX + "{name}"
        )
        names = {name: _UNSAFE.sub("_", name) for name in components}
        self.schemas = [translate(schema, names) for schema in schemas]
        self.components = {names[n]: translate(s, names) for n, s in components.items()}

    def strict(self, index: int, is_strict: bool) -> dict[str, object]:
        """The schema of a message payload whose unknown fields are errors when `is_strict`.

        The manifest's `strict` overrides a top-level Struct's own policy, so a Struct
        used with the other policy gets a variant component (`Name.strict`, `Name.lenient`).
        """
        schema = self.schemas[index]
        name = component_name(schema)
        if name is None or self.components[name].get("type") != "object":
            return schema
        component = self.components[name]
        if (component.get("additionalProperties") is False) == is_strict:
            return schema
        variant = f"{name}.strict" if is_strict else f"{name}.lenient"
        if variant not in self.components:
            copied = copy.deepcopy(component)
            if is_strict:
                copied["additionalProperties"] = False
            else:
                copied.pop("additionalProperties", None)
            self.components[variant] = copied
        return {"$ref": _PREFIX + variant}

    def prune(self, document: dict) -> None:
        """Drop a Struct's component that only its strictness variant is used for.

        The variant then takes the Struct's own name (the usual case: `strict = true`
        on a Struct that does not itself forbid unknown fields).
        """
        schemas = document["components"]["schemas"]
        used = _refs(document)
        for variant in [name for name in schemas if name.endswith((".strict", ".lenient"))]:
            base = variant.rpartition(".")[0]
            if base in schemas and base not in used:
                schemas[base] = schemas.pop(variant)
                _rename(document, _PREFIX + variant, _PREFIX + base)

    def resolve(self, schema: dict[str, object]) -> dict[str, object]:
        """Follow a `$ref` to a component (one level)."""
        name = component_name(schema)
        return self.components[name] if name is not None else schema


def _hook(type_: type) -> dict[str, object] | None:
    """Describe `object` inside a payload type (e.g. `dict[str, object]`): any value."""
    # NOTE: msgspec takes an empty schema for "not handled", so this one says something.
    return {"description": "Any value"} if type_ is object else None


def _refs(node: object) -> set[str]:
    """The component names that `$ref`s under `node` point at."""
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set().union(*map(_refs, node.values())) if node else set()
    name = component_name(node)
    return found | {name} if name is not None else found


def _rename(node: object, old: str, new: str) -> None:
    if isinstance(node, list):
        for item in node:
            _rename(item, old, new)
    elif isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _rename(value, old, new)


def component_name(schema: dict[str, object]) -> str | None:
    """The component a schema refers to, if it is a bare `$ref` to one."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_PREFIX):
        return ref[len(_PREFIX) :]
    return None


def translate(node: object, names: dict[str, str]) -> object:
    """Rewrite one msgspec JSON Schema node (recursively) as an AsyncAPI Schema object."""
    if isinstance(node, list):
        return [translate(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: translate(value, names) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(_PREFIX):
        name = ref[len(_PREFIX) :]
        out["$ref"] = _PREFIX + names.get(name, name)
    discriminator = out.get("discriminator")
    if isinstance(discriminator, dict):
        # NOTE: AsyncAPI names the property; it must be a required property of this schema.
        prop = discriminator["propertyName"]
        out["discriminator"] = prop
        tags = list(discriminator.get("mapping", {}))
        out.setdefault("type", "object")
        out["properties"] = {prop: {"enum": tags}} if tags else {prop: {}}
        out["required"] = [prop]
    if "prefixItems" in out:
        extra = out.get("items")
        out["items"] = out.pop("prefixItems")
        if extra is False:
            out["additionalItems"] = False
        elif isinstance(extra, dict):
            out["additionalItems"] = extra
    return out
