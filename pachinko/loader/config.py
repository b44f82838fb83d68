"""Validate a plugin's manifest section against the plugin's `config` Struct, key by key."""

from __future__ import annotations

import difflib

import msgspec

from pachinko.manifest.diagnostics import (
    BAD_PLUGIN,
    INVALID_VALUE,
    MISSING_KEY,
    UNKNOWN_KEY,
    WRONG_TYPE,
    KeyPath,
    Problem,
    read_validation_error,
)
from pachinko.manifest.values import dec_hook


def _invalid(error: Exception, dotted: str) -> Problem:
    if isinstance(error, msgspec.ValidationError):
        found = read_validation_error(error)
        if found.expected is not None:
            message = f"expected {found.expected} for '{dotted}', got {found.got}"
            return Problem(WRONG_TYPE, message)
    return Problem(INVALID_VALUE, f"invalid value for '{dotted}': {error}")


def validate_config(
    config_type: object, data: dict[str, object], table: KeyPath
) -> tuple[object | None, list[tuple[KeyPath, Problem]]]:
    """Convert `data` into `config_type`, reporting every bad key, not just the first.

    Returns the config (None if any key is bad) and the located problems.
    """
    if not (isinstance(config_type, type) and issubclass(config_type, msgspec.Struct)):
        problem = Problem(BAD_PLUGIN, f"plugin config {config_type!r} is not a msgspec.Struct")
        return None, [(table, problem)]
    fields = {field.encode_name: field for field in msgspec.structs.fields(config_type)}
    problems: list[tuple[KeyPath, Problem]] = []
    known = {}
    where = ".".join(map(str, table))
    for key, value in data.items():
        if key in fields:
            known[key] = value
            continue
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(fields)}"
        if not fields:
            hint = "this plugin takes no configuration"
        message = f"unknown key '{key}' in [{where}]"
        problems.append(((*table, key), Problem(UNKNOWN_KEY, message, hint)))
    for name, field in fields.items():
        if name in known:
            try:
                msgspec.convert(known[name], field.type, dec_hook=dec_hook)
            except (msgspec.ValidationError, TypeError, ValueError) as error:
                problems.append(((*table, name), _invalid(error, f"{where}.{name}")))
        elif field.required:
            problem = Problem(MISSING_KEY, f"missing required key '{name}' in [{where}]")
            problems.append((table, problem))
    if problems:
        return None, problems
    try:
        return msgspec.convert(known, config_type, dec_hook=dec_hook), []
    except (msgspec.ValidationError, TypeError, ValueError) as error:
        return None, [(table, Problem(INVALID_VALUE, str(error)))]
