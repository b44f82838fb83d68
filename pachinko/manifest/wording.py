"""How diagnostics name keys, values and types: the way TOML writes them."""

from __future__ import annotations

import datetime
import json
import typing

import msgspec

KeyPath = tuple[str | int, ...]


def is_struct(tp: object) -> bool:
    """Tell whether `tp` is a msgspec Struct class (a TOML table)."""
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def expected(tp: object) -> str:
    """Describe a model type in TOML terms: "an integer", "an array of strings"."""
    if typing.get_origin(tp) is typing.Annotated:
        return expected(typing.get_args(tp)[0])
    if typing.get_origin(tp) is list:
        item = typing.get_args(tp)[0]
        return "an array of tables" if is_struct(item) else f"an array of {expected(item)[2:]}s"
    names = {int: "an integer", str: "a string", bool: "a boolean"}
    return names.get(tp, "a table")  # type: ignore[call-overload]


def kind(value: object) -> str:
    """Name the TOML type of a parsed value: "a string", "an array"."""
    kinds: list[tuple[type, str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (datetime.datetime, "a date-time"),
        (datetime.date, "a date"),
        (datetime.time, "a time"),
    ]
    return next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


def literal(value: object) -> str:
    """Render a scalar as it is written in TOML; other values by their type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 42 else f'{text[:38]}..."'
    if isinstance(value, (int, float)):
        return repr(value)
    return kind(value)


def _part(key: str) -> str:
    is_bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if is_bare else json.dumps(key)


def dotted(keys: KeyPath) -> str:
    """Name a key path like `routes[2].messages.send.handler`."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else f".{_part(key)}" if text else _part(key)
    return text


def header(keys: KeyPath) -> str:
    """Name the table at a key path as its TOML header does: `routes.messages.send`."""
    return ".".join(_part(key) for key in keys if isinstance(key, str))


def table(keys: KeyPath) -> str:
    """Write the header of the table at a key path: `[routes.hooks]`, `[[routes]]`."""
    is_array = bool(keys) and isinstance(keys[-1], int)
    return f"[[{header(keys)}]]" if is_array else f"[{header(keys)}]"
