"""Read `pachinko.toml` into a `Manifest`, reporting every structural problem at its key."""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import sys
import types
import typing
from pathlib import Path

import msgspec

from pachinko.errors import Diagnostic, ManifestError
from pachinko.manifest.locator import KeyPath, Locator
from pachinko.manifest.model import Backend, Manifest
from pachinko.manifest.values import Duration, Rate

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

#: Every diagnostic code this stage emits, with its meaning (for the docs).
CODES = {
    "file-not-found": "the manifest file does not exist",
    "unreadable": "the manifest exists but cannot be read (a directory, no permission, ...)",
    "invalid-encoding": "the manifest is not valid UTF-8",
    "toml-syntax": "the file is not valid TOML; located where the TOML parser stopped",
    "unsupported-version": "`version` is not a manifest version this pachinko reads (only 1)",
    "missing-key": "a required key is absent; located at the header of its table",
    "unknown-key": "a key the manifest does not define; the hint names the closest known one",
    "wrong-type": "a value has the wrong TOML type, e.g. a string where an integer is expected",
    "invalid-value": "a string that is not one of the allowed values, or empty where a name is due",
    "invalid-duration": 'a duration that is not "250ms", "5s", "2m", "1h" or a number of seconds',
    "invalid-rate": 'a rate that is not "N/s", "N/m" or "off"',
    "out-of-range": "a number outside its allowed range, e.g. `burst = 0`",
}

_NOT_TOML = frozenset({"path", "locations"})  # Manifest fields filled in by `load`
_MINIMUM = {
    "max_message_bytes": 1,
    "burst": 1,
    "send_queue": 1,
    "history": 0,
    "max_members": 0,
    "max_restarts": 0,
    "max_header_bytes": 1,
    "max_connections": 0,
    "max_history_bytes": 0,
}
_POSITIVE = frozenset(
    {"send_timeout", "idle_timeout", "ping_interval", "every", "handshake_timeout"}
)
_NON_EMPTY = frozenset(
    {
        "name",
        "path",
        "target",
        "handler",
        "payload",
        "reply",
        "resource",
        "http",
        "codec",
        "use",
        "health",
    }
)
_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_MSGSPEC_AT = re.compile(r" - at `\$(.*)`$")


def load(path: str | os.PathLike[str]) -> Manifest:
    """Read, parse and validate a manifest file.

    Raises:
        ManifestError: with every problem found, sorted by line and column.
    """
    where = Path(path).absolute()

    def fail(code: str, message: str, line: int = 1, column: int = 1) -> ManifestError:
        return ManifestError([Diagnostic(where, line, column, code, message)])

    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise fail("file-not-found", f"manifest not found: {where}") from None
    except OSError as exc:
        raise fail("unreadable", f"cannot read the manifest: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"the manifest is not valid UTF-8 (byte 0x{byte})"
        raise fail("invalid-encoding", message, line, column) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(where, text, str(exc)) from None
    except RecursionError:
        raise fail("toml-syntax", "invalid TOML: values are nested too deeply") from None
    return parse(document, Locator(text), where)


def parse(document: dict[str, object], locator: Locator, path: Path) -> Manifest:
    """Validate a parsed TOML document and build the `Manifest`.

    Raises:
        ManifestError: with every problem found, sorted by line and column.
    """
    check = _Checker(locator, path)
    check.value(document, Manifest, ())
    version = document.get("version")
    if type(version) is int and version != 1:
        check.report(
            ("version",), "unsupported-version", f"unsupported manifest version {version}",
            "this pachinko reads `version = 1`",
        )  # fmt: skip
    if not check.diagnostics:
        normal = dict(document)
        backend = document.get("backend", {})
        if isinstance(backend, dict):
            config = {key: value for key, value in backend.items() if key != "use"}
            normal["backend"] = {
                **({"use": backend["use"]} if "use" in backend else {}),
                "config": config,
            }
        try:
            manifest = msgspec.convert(normal, Manifest, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:  # NOTE: a safety net; the walk should catch it all
            reason, keys = split_validation_error(exc)
            check.report(keys, "wrong-type", f"{reason} at '{_dotted(keys)}'")
        else:
            return msgspec.structs.replace(manifest, path=str(path), locations=locator)
    raise ManifestError(sorted(check.diagnostics, key=lambda d: (d.line, d.column)))


def split_validation_error(exc: msgspec.ValidationError) -> tuple[str, KeyPath]:
    """Split msgspec's "... - at `$.routes[2].handler`" into its reason and key path.

    A dict key (msgspec writes `[...]`) ends the path there.
    """
    text = str(exc)
    match = _MSGSPEC_AT.search(text)
    if match is None:
        return text, ()
    keys: list[str | int] = []
    for part in re.findall(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]", match[1]):
        if part[1] == "...":
            break
        keys.append(part[0] or int(part[1]))
    return text[: match.start()].replace("`", "'"), tuple(keys)


def _dec_hook(tp: type, value: object) -> object:
    if tp is Duration:
        return Duration.parse(value)
    if tp is Rate:
        return Rate.parse(value)
    if tp is object:  # NOTE: msgspec asks for free-form values, e.g. a worker's `args`
        return value
    raise NotImplementedError(f"cannot decode {tp!r}")


def _syntax_error(path: Path, text: str, message: str) -> ManifestError:
    match = _SYNTAX_AT.search(message)
    if match:
        line, column = int(match[1]), int(match[2])
        message = message[: match.start()]
    else:  # "(at end of document)"
        message = message.replace(" (at end of document)", "")
        # NOTE: TOML lines end at "\n" only; str.splitlines() also splits at \v, \f, ...
        lines = text.removesuffix("\n").split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    reason = message[:1].lower() + message[1:]
    return ManifestError([Diagnostic(path, line, column, "toml-syntax", f"invalid TOML: {reason}")])


class _Checker:
    """Walks a TOML document against the manifest Structs, collecting diagnostics."""

    def __init__(self, locator: Locator, path: Path) -> None:
        self.locator = locator
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def report(self, keys: KeyPath, code: str, message: str, hint: str | None = None) -> None:
        line, column = self.locator.locate(keys)
        self.diagnostics.append(Diagnostic(self.path, line, column, code, message, hint))

    def value(self, value: object, tp: object, keys: KeyPath) -> None:
        """Check one value against a type of the model."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        field = keys[-1] if keys and isinstance(keys[-1], str) else ""
        if origin in (types.UnionType, typing.Union):  # X | None: TOML has no null
            self.value(value, next(arg for arg in args if arg is not type(None)), keys)
        elif tp is Backend:
            if not isinstance(value, dict):
                self.wrong_type(value, tp, keys)
            elif "use" in value:
                self.value(value["use"], str, (*keys, "use"))
        elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            self.table(value, tp, keys)
        elif origin is list:
            if not isinstance(value, list):
                hint = None
                if isinstance(value, dict) and _is_struct(args[0]):
                    hint = f"write each entry as [[{_header(keys)}]], with double brackets"
                self.wrong_type(value, tp, keys, hint)
                return
            for index, item in enumerate(value):
                self.value(item, args[0], (*keys, index))
        elif origin is dict:
            if not isinstance(value, dict):
                self.wrong_type(value, tp, keys)
                return
            if args[1] is object:  # free-form, e.g. a worker's `args`
                return
            for key, item in value.items():
                if not key.strip():
                    self.report((*keys, key), "invalid-value", f"empty key in {_table(keys)}")
                self.value(item, args[1], (*keys, key))
        elif origin is typing.Literal:
            if not isinstance(value, str):
                self.wrong_type(value, str, keys)
            elif value not in args:
                allowed = ", ".join(_literal(arg) for arg in args)
                close = difflib.get_close_matches(value, args, n=1)
                message = f"invalid value {_literal(value)} for '{_dotted(keys)}'"
                hint = f"did you mean {_literal(close[0])}?" if close else None
                self.report(keys, "invalid-value", f"{message}, expected one of {allowed}", hint)
        elif tp is Duration or tp is Rate:
            try:
                parsed = tp.parse(value)
            except (TypeError, ValueError) as exc:
                name = "duration" if tp is Duration else "rate"
                reason = str(exc).rpartition(": ")[2]
                self.report(
                    keys, f"invalid-{name}",
                    f"invalid {name} {_literal(value)} for '{_dotted(keys)}'",
                    reason[:1].lower() + reason[1:],
                )  # fmt: skip
                return
            if field in _POSITIVE and parsed <= 0:
                message = f"'{_dotted(keys)}' must be > 0, got {_literal(value)}"
                self.report(keys, "out-of-range", message)
        elif tp is int:
            if type(value) is not int:
                self.wrong_type(value, tp, keys)
            elif field in _MINIMUM and value < _MINIMUM[field]:
                minimum = _MINIMUM[field]
                message = f"'{_dotted(keys)}' must be >= {minimum}, got {value}"
                self.report(keys, "out-of-range", message)
        elif tp is str:
            if not isinstance(value, str):
                self.wrong_type(value, tp, keys)
            elif field in _NON_EMPTY and not value.strip():
                self.report(keys, "invalid-value", f"'{_dotted(keys)}' must not be empty")
        elif tp is bool and not isinstance(value, bool):
            self.wrong_type(value, tp, keys)

    def table(self, value: object, struct: type[msgspec.Struct], keys: KeyPath) -> None:
        if not isinstance(value, dict):
            self.wrong_type(value, struct, keys)
            return
        fields = {
            field.encode_name: field
            for field in msgspec.structs.fields(struct)
            if not (struct is Manifest and field.name in _NOT_TOML)
        }
        where = f"in {_table(keys)}" if keys else "at the top level"
        for key in value:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                allowed = ", ".join(fields)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {allowed}"
                self.report((*keys, key), "unknown-key", f"unknown key '{key}' {where}", hint)
        for name, field in fields.items():
            if name in value:
                self.value(value[name], field.type, (*keys, name))
            elif field.required:
                hint = "add `version = 1` as the first line" if name == "version" else None
                self.report(
                    (*keys, name), "missing-key", f"missing required key '{name}' {where}", hint
                )

    def wrong_type(self, value: object, tp: object, keys: KeyPath, hint: str | None = None) -> None:
        message = f"expected {_expected(tp)} for '{_dotted(keys)}', got {_kind(value)}"
        self.report(keys, "wrong-type", message, hint)


def _is_struct(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _expected(tp: object) -> str:
    """Describe a model type in TOML terms: "an integer", "an array of strings"."""
    if typing.get_origin(tp) is list:
        item = typing.get_args(tp)[0]
        return "an array of tables" if _is_struct(item) else f"an array of {_expected(item)[2:]}s"
    names = {int: "an integer", str: "a string", bool: "a boolean"}
    return names.get(tp, "a table")  # type: ignore[call-overload]


def _kind(value: object) -> str:
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
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _literal(value: object) -> str:
    """Render a scalar as it is written in TOML; other values by their type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 42 else f'{text[:38]}..."'
    if isinstance(value, (int, float)):
        return repr(value)
    return _kind(value)


def _part(key: str) -> str:
    return (
        key
        if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
        else json.dumps(key)
    )


def _dotted(keys: KeyPath) -> str:
    """Name a key path like `routes[2].messages.send.handler`."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else f".{_part(key)}" if text else _part(key)
    return text


def _header(keys: KeyPath) -> str:
    """Name the table at a key path as its TOML header does: `routes.messages.send`."""
    return ".".join(_part(key) for key in keys if isinstance(key, str))


def _table(keys: KeyPath) -> str:
    """Write the header of the table at a key path: `[routes.hooks]`, `[[routes]]`."""
    is_array = bool(keys) and isinstance(keys[-1], int)
    return f"[[{_header(keys)}]]" if is_array else f"[{_header(keys)}]"
