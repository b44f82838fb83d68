"""Every diagnostic code of `pachinko check`, the collector that locates them, and msgspec's words.

Both stages report through this module: the structural checker (stage 1) and the
loader (stage 2). Every code is documented in docs/diagnostics.md (a test holds
the two together).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from pachinko.errors import Diagnostic

KeyPath = tuple[str | int, ...]

# Stage 1: reading the manifest (structure), before any user code is imported.
FILE_NOT_FOUND = "file-not-found"
UNREADABLE = "unreadable"
INVALID_ENCODING = "invalid-encoding"
TOML_SYNTAX = "toml-syntax"
UNSUPPORTED_VERSION = "unsupported-version"
MISSING_KEY = "missing-key"
UNKNOWN_KEY = "unknown-key"
WRONG_TYPE = "wrong-type"
INVALID_VALUE = "invalid-value"
INVALID_DURATION = "invalid-duration"
INVALID_RATE = "invalid-rate"
OUT_OF_RANGE = "out-of-range"
IDLE_BEFORE_PING = "idle-before-ping"
# Stage 2: resolving the manifest (imports, signatures, routes, plugins).
IMPORT_FAILED = "import-failed"
INVALID_IMPORT = "invalid-import"
NOT_CALLABLE = "not-callable"
NOT_ASYNC = "not-async"
BAD_SIGNATURE = "bad-signature"
BAD_PAYLOAD_TYPE = "bad-payload-type"
BAD_RESOURCE = "bad-resource"
BAD_HTTP_APP = "bad-http-app"
BAD_PATH = "bad-path"
DUPLICATE_PATH = "duplicate-path"
DUPLICATE_NAME = "duplicate-name"
UNKNOWN_PLACEHOLDER = "unknown-placeholder"
UNKNOWN_ROOM = "unknown-room"
UNJOINED_HISTORY = "unjoined-history"
MISSING_HANDLER = "missing-handler"
RESERVED_SUBPROTOCOL = "reserved-subprotocol"
DUPLICATE_SUBPROTOCOL = "duplicate-subprotocol"
HANDLER_OVERRIDE = "handler-override"
UNKNOWN_PLUGIN = "unknown-plugin"
PLUGIN_FAILED = "plugin-failed"
BAD_PLUGIN = "bad-plugin"
PER_PROCESS_BACKEND = "per-process-backend"
# `check --against` (pachinko.contract.drift)
DRIFT_CHANNEL = "drift-channel"
DRIFT_MESSAGE = "drift-message"
DRIFT_FIELD = "drift-field"
DRIFT_FIELD_TYPE = "drift-field-type"
DRIFT_REPLY = "drift-reply"
ASYNCAPI_UNREADABLE = "asyncapi-unreadable"
ASYNCAPI_SYNTAX = "asyncapi-syntax"
ASYNCAPI_VERSION = "asyncapi-version"

#: Every code, with its meaning (docs/diagnostics.md has a row for each).
CODES = {
    FILE_NOT_FOUND: "the manifest file does not exist",
    UNREADABLE: "the manifest exists but cannot be read (a directory, no permission, ...)",
    INVALID_ENCODING: "the manifest is not valid UTF-8",
    TOML_SYNTAX: "the file is not valid TOML; located where the TOML parser stopped",
    UNSUPPORTED_VERSION: "`version` is not a manifest version this pachinko reads (only 1)",
    MISSING_KEY: "a required key is absent; located at the header of its table",
    UNKNOWN_KEY: "a key the manifest (or a plugin's config) does not define",
    WRONG_TYPE: "a value has the wrong type, e.g. a string where an integer is expected",
    INVALID_VALUE: "a value that is not one of the allowed ones, or empty where a name is due",
    INVALID_DURATION: 'a duration that is not "250ms", "5s", "2m", "1h" or a number of seconds',
    INVALID_RATE: 'a rate that is not "N/s", "N/m" or "off"',
    OUT_OF_RANGE: "a number outside its allowed range, e.g. `burst = 0`",
    IDLE_BEFORE_PING: "(warning) `idle_timeout` is not longer than `ping_interval`",
    IMPORT_FAILED: "an import failed: no such module, the module raised, or no such attribute",
    INVALID_IMPORT: "an import string is not of the form 'package.module:attr'",
    NOT_CALLABLE: "a handler, hook or worker names something that cannot be called",
    NOT_ASYNC: "a handler, hook or worker is not an `async def` coroutine function",
    BAD_SIGNATURE: "a callable cannot be called as (conn, payload), (conn, event) or (ctx, **args)",
    BAD_PAYLOAD_TYPE: "a payload type msgspec cannot decode",
    BAD_RESOURCE: "`resource` is not a subclass of pachinko.WebSocketResource",
    BAD_HTTP_APP: "`[app] http` is neither a falcon.asgi.App nor a zero-argument factory of one",
    BAD_PATH: "a route path or mount that Falcon cannot compile, or that does not start with '/'",
    DUPLICATE_PATH: "two routes have the same full path",
    DUPLICATE_NAME: "two rooms, workers or routes have the same name",
    UNKNOWN_PLACEHOLDER: "a `join` entry uses a {placeholder} that is not a path parameter",
    UNKNOWN_ROOM: "(warning) a `join` entry matches no [[rooms]] name or pattern",
    UNJOINED_HISTORY: "(warning) a room keeps `history` but no route joins it",
    MISSING_HANDLER: "a message has no `handler` and the route's resource has no method for it",
    RESERVED_SUBPROTOCOL: "a route subprotocol named like a codec's own (`pachinko.json`, ...)",
    DUPLICATE_SUBPROTOCOL: "a route lists the same subprotocol twice (its resource's included)",
    HANDLER_OVERRIDE: "(warning) a manifest handler replaces the resource's own method",
    UNKNOWN_PLUGIN: "no installed plugin has that name; the hint lists the installed ones",
    PLUGIN_FAILED: "a plugin's entry point raised while loading",
    BAD_PLUGIN: "a plugin lacks what its group requires (a `config` Struct, codec attributes)",
    PER_PROCESS_BACKEND: "(warning) several server processes share nothing with `memory`",
    DRIFT_CHANNEL: "a route with no channel of the same address in the document, or the reverse",
    DRIFT_MESSAGE: "a client message type on one side only",
    DRIFT_FIELD: "a payload field on one side only",
    DRIFT_FIELD_TYPE: "a payload field whose JSON type differs between the two sides",
    DRIFT_REPLY: "a reply type on one side only",
    ASYNCAPI_UNREADABLE: "the AsyncAPI document does not exist or cannot be read",
    ASYNCAPI_SYNTAX: "the AsyncAPI document is not valid YAML or JSON",
    ASYNCAPI_VERSION: "the document is not an AsyncAPI 3 document",
}


class Problem(Exception):
    """One thing wrong with a value; the collector locates it at a key."""

    def __init__(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        severity: str = "error",
        key: KeyPath | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.severity = severity
        self.key = key  # a more precise key than the one being checked, if known


class Locations(Protocol):
    """Where keys are written (a `pachinko.manifest.Locator`)."""

    def locate(self, key_path: Sequence[str | int]) -> tuple[int, int]: ...


class Collector:
    """Gathers the diagnostics of one manifest, each located at its key.

    Location rule (docs/diagnostics.md): a problem with a value is reported at its
    key; an array element at the element; a missing key at its table's header.
    """

    def __init__(self, path: Path, locations: Locations | None) -> None:
        self.path = path
        self.locations = locations
        self.diagnostics: list[Diagnostic] = []

    def locate(self, key: KeyPath) -> tuple[int, int]:
        """Return the (line, column) of a key, or of the nearest table that holds it."""
        return (1, 1) if self.locations is None else self.locations.locate(key)

    def add(self, key: KeyPath, problem: Problem) -> None:
        """Record a problem found while checking the value at `key`."""
        line, column = self.locate(problem.key or key)
        where = (self.path, line, column)
        found = (problem.code, problem.message, problem.hint, problem.severity)
        self.diagnostics.append(Diagnostic(*where, *found))

    def error(self, key: KeyPath, code: str, message: str, hint: str | None = None) -> None:
        """Record an error at `key`."""
        self.add(key, Problem(code, message, hint))

    def warning(self, key: KeyPath, code: str, message: str, hint: str | None = None) -> None:
        """Record a warning at `key`."""
        self.add(key, Problem(code, message, hint, severity="warning"))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Keep diagnostics found by an earlier stage."""
        self.diagnostics.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(diagnostic.is_error for diagnostic in self.diagnostics)

    def sorted(self) -> tuple[Diagnostic, ...]:
        """Return the diagnostics in file order."""
        return sort_diagnostics(self.diagnostics)


def sort_diagnostics(diagnostics: Sequence[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Order diagnostics by position; the sort is stable for ties."""
    return tuple(sorted(diagnostics, key=lambda d: (d.line, d.column)))


@dataclass(frozen=True, slots=True)
class ValidationText:
    """msgspec's `ValidationError` message, taken apart."""

    reason: str  # without the location, backquotes as quotes
    keys: KeyPath  # `$.routes[2].handler` -> ("routes", 2, "handler"); stops at a dict key
    expected: str | None  # `Expected `int`, got `str``: "int"
    got: str | None


_AT = re.compile(r" - at `\$(.*)`$")
_EXPECTED = re.compile(r"^Expected `(.+?)`, got `(.+?)`")


def read_validation_error(error: msgspec.ValidationError) -> ValidationText:
    """Take msgspec's "Expected `int`, got `str` - at `$.limits.burst`" apart.

    NOTE: the one place (outside the runtime's own error frames) that reads msgspec's wording.
    """
    text = str(error)
    match = _AT.search(text)
    keys: list[str | int] = []
    if match is not None:
        for part in re.findall(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]", match[1]):
            if part[1] == "...":  # a dict key: msgspec does not name it
                break
            keys.append(part[0] or int(part[1]))
        text = text[: match.start()]
    expected = _EXPECTED.match(text)
    return ValidationText(
        text.replace("`", "'"),
        tuple(keys),
        expected[1] if expected else None,
        expected[2] if expected else None,
    )
