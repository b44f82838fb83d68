"""Walk a TOML document against the manifest model, reporting every problem and salvaging the rest.

The constraints come from the model itself (`msgspec.Meta` on each field). A bad
value is reported, then replaced: by its default when the key is optional, or by a
filler whose key path is recorded as *broken*, so the loader checks everything
else and skips only what depends on that value.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing

import msgspec

from pachinko.manifest.diagnostics import (
    INVALID_DURATION,
    INVALID_RATE,
    INVALID_VALUE,
    MISSING_KEY,
    OUT_OF_RANGE,
    UNKNOWN_KEY,
    WRONG_TYPE,
    Collector,
)
from pachinko.manifest.model import NOT_BLANK, TOKEN, BackendTable, Manifest
from pachinko.manifest.values import Duration, Rate
from pachinko.manifest.wording import KeyPath, dotted, expected, header, is_struct, kind, literal
from pachinko.manifest.wording import table as table_name

NOT_TOML = frozenset({"path", "locations", "diagnostics", "broken"})  # filled in by the parser
_BAD = object()  # a value that was reported and cannot be kept
SKIPPED = "what depends on this value is not checked until it is fixed"
Metas = tuple[msgspec.Meta, ...]
RULES = {
    NOT_BLANK: "must not be empty",
    TOKEN: "must be a token: letters, digits and !#$%&'*+-.^_`|~, no spaces",
}


def unwrap(tp: object) -> tuple[object, Metas]:
    """Split `Annotated[T, Meta(...)]` into `T` and its metas."""
    if typing.get_origin(tp) is typing.Annotated:
        base, *extras = typing.get_args(tp)
        return base, tuple(m for m in extras if isinstance(m, msgspec.Meta))
    return tp, ()


def constraint(metas: Metas, name: str) -> object:
    """The value of a constraint (`ge`, `gt`, `pattern`, ...), from a Meta or its `extra`."""
    for meta in metas:
        found = getattr(meta, name, None)
        if found is None and meta.extra:
            found = meta.extra.get(name)
        if found is not None:
            return found
    return None


def filler(tp: object) -> object:
    """A stand-in value of type `tp` for a required value that was reported."""
    tp, metas = unwrap(tp)
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        return None
    pattern = constraint(metas, "pattern")
    if tp is str and isinstance(pattern, str) and pattern != NOT_BLANK:
        return "_"  # NOTE: a token (TOKEN) as well as a name
    if is_struct(tp):
        fields = msgspec.structs.fields(tp)  # type: ignore[arg-type]
        return {f.encode_name: filler(f.type) for f in fields if f.required}
    origin = typing.get_origin(tp)
    # NOTE: fillers satisfy the model's constraints (a name is not blank, counts are >= 1).
    defaults = {str: "?", int: 1, bool: False, list: [], dict: {}}
    return defaults.get(origin or tp)  # type: ignore[call-overload]


class Checker:
    """Checks one document; `clean(document)` returns what msgspec can convert."""

    def __init__(self, report: Collector) -> None:
        self.report = report
        self.broken: set[KeyPath] = set()

    def clean(self, document: dict[str, object]) -> dict[str, object]:
        """Check a whole document and return its salvaged form."""
        return self.table(document, Manifest, ())  # type: ignore[return-value]

    def error(self, keys: KeyPath, code: str, message: str, hint: str | None = None) -> object:
        self.report.error(keys, code, message, hint)
        return _BAD

    def keep(self, value: object, tp: object, keys: KeyPath) -> object:
        """Check a value that must be kept: a bad one becomes a filler, and is broken."""
        cleaned = self.value(value, tp, keys)
        if cleaned is not _BAD:
            return cleaned
        self.broken.add(keys)
        last = self.report.diagnostics[-1] if self.report.diagnostics else None
        if last is not None and last.hint is None and last.is_error:
            self.report.diagnostics[-1] = dataclasses.replace(last, hint=SKIPPED)
        return filler(tp)

    def value(self, value: object, tp: object, keys: KeyPath) -> object:
        """Check one value against a type of the model; return it cleaned, or `_BAD`."""
        tp, metas = unwrap(tp)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (types.UnionType, typing.Union):  # X | None: TOML has no null
            return self.value(value, next(arg for arg in args if arg is not type(None)), keys)
        if tp is BackendTable:
            return self.backend(value, keys)
        if is_struct(tp):
            return self.table(value, tp, keys)  # type: ignore[arg-type]
        if origin is list:
            if not isinstance(value, list):
                hint = None
                if isinstance(value, dict) and is_struct(unwrap(args[0])[0]):
                    hint = f"write each entry as [[{header(keys)}]], with double brackets"
                return self.wrong_type(value, tp, keys, hint)
            return [self.keep(item, args[0], (*keys, i)) for i, item in enumerate(value)]
        if origin is dict:
            if not isinstance(value, dict):
                return self.wrong_type(value, tp, keys)
            if args[1] is object:  # free-form, e.g. a worker's `args`
                return value
            cleaned = {}
            for key, item in value.items():
                if not key.strip():
                    self.error((*keys, key), INVALID_VALUE, f"empty key in {table_name(keys)}")
                    continue
                cleaned[key] = self.keep(item, args[1], (*keys, key))
            return cleaned
        if origin is typing.Literal:
            return self.choice(value, args, keys)
        if tp is Duration or tp is Rate:
            return self.parsed(value, tp, metas, keys)
        if tp is int:
            return self.number(value, metas, keys)
        if tp is str:
            if not isinstance(value, str):
                return self.wrong_type(value, tp, keys)
            pattern = constraint(metas, "pattern")
            if isinstance(pattern, str) and not re.search(pattern, value):
                rule = RULES.get(pattern, f"must match {pattern!r}")
                return self.error(keys, INVALID_VALUE, f"'{dotted(keys)}' {rule}")
            return value
        if tp is bool and not isinstance(value, bool):
            return self.wrong_type(value, tp, keys)
        return value

    def choice(self, value: object, allowed: tuple[object, ...], keys: KeyPath) -> object:
        if not isinstance(value, str):
            return self.wrong_type(value, str, keys)
        if value in allowed:
            return value
        names = ", ".join(literal(arg) for arg in allowed)
        close = difflib.get_close_matches(value, allowed, n=1)  # type: ignore[arg-type]
        message = f"invalid value {literal(value)} for '{dotted(keys)}', expected one of {names}"
        hint = f"did you mean {literal(close[0])}?" if close else None
        return self.error(keys, INVALID_VALUE, message, hint)

    def parsed(
        self, value: object, tp: type[Duration] | type[Rate], metas: Metas, keys: KeyPath
    ) -> object:
        try:
            parsed = tp.parse(value)
        except (TypeError, ValueError) as exc:
            name = "duration" if tp is Duration else "rate"
            reason = str(exc).rpartition(": ")[2]
            code = INVALID_DURATION if tp is Duration else INVALID_RATE
            message = f"invalid {name} {literal(value)} for '{dotted(keys)}'"
            return self.error(keys, code, message, reason[:1].lower() + reason[1:])
        above = constraint(metas, "gt")
        if above is not None and parsed <= above:  # type: ignore[operator]
            message = f"'{dotted(keys)}' must be > {above}, got {literal(value)}"
            return self.error(keys, OUT_OF_RANGE, message)
        return value

    def number(self, value: object, metas: Metas, keys: KeyPath) -> object:
        if type(value) is not int:
            return self.wrong_type(value, int, keys)
        for name, fails, sign in (("ge", int.__lt__, ">="), ("gt", int.__le__, ">")):
            bound = constraint(metas, name)
            if bound is not None and fails(value, bound):
                message = f"'{dotted(keys)}' must be {sign} {bound}, got {value}"
                return self.error(keys, OUT_OF_RANGE, message)
        return value

    def backend(self, value: object, keys: KeyPath) -> object:
        """`[backend]`: `use`, checked here; the rest is the plugin's config (the loader's)."""
        if not isinstance(value, dict):
            return self.wrong_type(value, BackendTable, keys)
        use_type = next(f.type for f in msgspec.structs.fields(BackendTable) if f.name == "use")
        cleaned: dict[str, object] = {"config": {k: v for k, v in value.items() if k != "use"}}
        if "use" in value:
            use = self.keep(value["use"], use_type, (*keys, "use"))
            if (*keys, "use") not in self.broken:
                cleaned["use"] = use
        return cleaned

    def table(self, value: object, struct: type[msgspec.Struct], keys: KeyPath) -> object:
        if not isinstance(value, dict):
            return self.wrong_type(value, struct, keys)
        fields = {
            field.encode_name: field
            for field in msgspec.structs.fields(struct)
            if not (struct is Manifest and field.name in NOT_TOML)
        }
        where = f"in {table_name(keys)}" if keys else "at the top level"
        for key in value:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = (
                    f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(fields)}"
                )
                self.error((*keys, key), UNKNOWN_KEY, f"unknown key '{key}' {where}", hint)
                self.broken.add((*keys, key))  # NOTE: e.g. a misspelt `handler` is not missing
        cleaned: dict[str, object] = {}
        for name, field in fields.items():
            if name in value:
                if field.required:
                    cleaned[name] = self.keep(value[name], field.type, (*keys, name))
                else:
                    checked = self.value(value[name], field.type, (*keys, name))
                    if checked is _BAD:  # NOTE: the default stands in; checks of it are moot.
                        self.broken.add((*keys, name))
                    else:
                        cleaned[name] = checked
            elif field.required:
                hint = "add `version = 1` as the first line" if name == "version" else SKIPPED
                message = f"missing required key '{name}' {where}"
                self.error((*keys, name), MISSING_KEY, message, hint)
                self.broken.add((*keys, name))
                cleaned[name] = filler(field.type)
        return cleaned

    def wrong_type(
        self, value: object, tp: object, keys: KeyPath, hint: str | None = None
    ) -> object:
        message = f"expected {expected(tp)} for '{dotted(keys)}', got {kind(value)}"
        return self.error(keys, WRONG_TYPE, message, hint)
