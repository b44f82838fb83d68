"""docs/manifest.md, generated from the model the checker uses.

Regenerate it with `python -m pachinko.manifest.reference > docs/manifest.md`.

A test compares the page with `render()`, so the reference cannot drift from the model.
"""

from __future__ import annotations

import json
import types
import typing

import msgspec

from pachinko.manifest import model
from pachinko.manifest.check import NOT_TOML, constraint, unwrap
from pachinko.manifest.values import Duration, Rate
from pachinko.manifest.wording import is_struct

#: Each table of the manifest, in the order a manifest is usually written.
TABLES: tuple[tuple[str, type[msgspec.Struct]], ...] = (
    ("top level", model.Manifest),
    ("[app]", model.AppSection),
    ("[limits]", model.LimitsTable),
    ("[security]", model.Security),
    ("[backend]", model.BackendTable),
    ("[[rooms]]", model.Room),
    ("[hooks]", model.Hooks),
    ("[[routes]]", model.Route),
    ("[routes.hooks]", model.Hooks),
    ("[routes.messages.TYPE]", model.MessageTable),
    ("[[routes.subprotocols]]", model.SubprotocolTable),
    ("[[routes.workers]]", model.RouteWorker),
    ("[[workers]]", model.Worker),
)
_NOT_KEYS = {model.Manifest: NOT_TOML, model.BackendTable: {"config"}}
_NOTES = {
    "[backend]": "Every other key of `[backend]` is the chosen plugin's configuration, "
    "checked against that plugin's `config` Struct.",
    "[hooks]": "Global hooks, the outermost layer.",
    "[routes.hooks]": "Route hooks, inside the global ones.",
    "[[routes.subprotocols]]": "An application subprotocol the route speaks: a client "
    "offering `name` gets its codec, resource and messages (the first name it offers that "
    "the route speaks wins). `[routes.subprotocols.messages.TYPE]` tables are written like "
    "`[routes.messages.TYPE]`.",
    "top level": "`[plugins.NAME]` tables configure the `pachinko.extensions` plugin NAME.",
}
_HEAD = """\
# Manifest reference

Every key of `pachinko.toml`: its type, its default and what it does. This page
is generated from the model the loader checks manifests with
(`python -m pachinko.manifest.reference > docs/manifest.md`); a test fails
when the two disagree. Unknown keys are errors. Durations are strings
(`"250ms"`, `"5s"`, `"2m"`, `"1h"`) or numbers of seconds; rates are `"N/s"`,
`"N/m"` or `"off"`; import strings are `"package.module:attr"`, resolved with
the manifest's folder first on `sys.path`.
"""


def type_name(tp: object) -> str:
    """Name a model type in TOML terms."""
    tp, _ = unwrap(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        return type_name(next(arg for arg in args if arg is not type(None)))
    if origin is typing.Literal:
        return " \\| ".join(f'`"{arg}"`' for arg in args)
    if origin is list:
        item = unwrap(args[0])[0]
        return "array of tables" if is_struct(item) else f"array of {type_name(item)}s"
    if origin is dict:
        return "table of tables" if is_struct(unwrap(args[1])[0]) else "table"
    names = {str: "string", int: "integer", bool: "boolean", Duration: "duration", Rate: "rate"}
    return names.get(tp, "table")  # type: ignore[call-overload]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Duration):
        return f'`"{float(value):g}s"`'
    if isinstance(value, Rate):
        return '`"off"`' if value.is_off else f'`"{value.count}/{"s" if value.per == 1 else "m"}"`'
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    if isinstance(value, dict) or is_struct(type(value)):
        return "empty"
    return f"`{value!r}`"


def _default(field: msgspec.structs.FieldInfo) -> str:
    if field.required:
        return "required"
    if field.default_factory is not msgspec.NODEFAULT:
        return _value(field.default_factory())
    return "not set" if field.default is None else _value(field.default)


def _rules(metas: tuple[msgspec.Meta, ...]) -> str:
    rules = []
    for name, sign in (("ge", ">="), ("gt", ">")):
        bound = constraint(metas, name)
        if bound is not None:
            rules.append(f"{sign} {bound}")
    pattern = constraint(metas, "pattern")
    if pattern == model.NOT_BLANK:
        rules.append("not empty")
    elif pattern == model.TOKEN:
        rules.append("a token: no spaces")
    return "; ".join(rules)


def render() -> str:
    """Return docs/manifest.md."""
    parts = [_HEAD]
    for header, struct in TABLES:
        parts.append(f"\n## {header}\n")
        summary = (struct.__doc__ or "").strip().splitlines()[0]
        parts.append(f"\n{_NOTES.get(header, summary)}\n")
        parts.append("\n| key | type | default | rules | meaning |\n")
        parts.append("| --- | --- | --- | --- | --- |\n")
        example = []
        for field in msgspec.structs.fields(struct):
            if field.name in _NOT_KEYS.get(struct, ()):
                continue
            base = field.type
            if typing.get_origin(base) in (types.UnionType, typing.Union):
                base = next(a for a in typing.get_args(base) if a is not type(None))
            _, metas = unwrap(base)
            doc = next((m.description for m in metas if m.description), "")
            examples = next((m.examples for m in metas if m.examples), None)
            row = (
                f"`{field.encode_name}`", type_name(field.type), _default(field),
                _rules(metas), doc.replace("|", "\\|"),
            )  # fmt: skip
            parts.append("| " + " | ".join(row) + " |\n")
            value = examples[0] if examples else _example_default(field)
            if value is not None:
                example.append(f"{field.encode_name} = {toml(value)}")
        if example:
            heading = [] if header == "top level" else [header.replace("TYPE", "send")]
            parts.append("\n```toml\n" + "\n".join([*heading, *example]) + "\n```\n")
    return "".join(parts)


def _example_default(field: msgspec.structs.FieldInfo) -> object:
    """The default of a scalar key, to show in the example (tables have their own)."""
    if field.required:
        return 1 if field.name == "version" else None
    value = field.default_factory() if field.default is msgspec.NODEFAULT else field.default
    is_scalar = isinstance(value, (str, int, float, Rate)) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value) and value
    )
    return value if is_scalar else None


def toml(value: object) -> str:
    """Write a value as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Duration):
        return json.dumps(f"{float(value):g}s")
    if isinstance(value, Rate):
        return '"off"' if value.is_off else f'"{value.count}/{"s" if value.per == 1 else "m"}"'
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


if __name__ == "__main__":
    print(render(), end="")
