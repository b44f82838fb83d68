"""The loader's diagnostic codes, and the collector that locates and keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pachinko.errors import Diagnostic
from pachinko.manifest.model import Manifest

KeyPath = tuple[str | int, ...]

# Codes the loader emits (every one is documented in docs/diagnostics.md).
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
MISSING_HANDLER = "missing-handler"
HANDLER_OVERRIDE = "handler-override"
UNKNOWN_PLUGIN = "unknown-plugin"
PLUGIN_FAILED = "plugin-failed"
BAD_PLUGIN = "bad-plugin"
# Shared with the manifest parser: plugin config sections are checked like tables.
UNKNOWN_KEY = "unknown-key"
MISSING_KEY = "missing-key"
WRONG_TYPE = "wrong-type"
INVALID_VALUE = "invalid-value"

#: Every diagnostic code this stage emits, with its meaning (for the docs).
CODES = {
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
    MISSING_HANDLER: "a message has no `handler` and the route's resource has no method for it",
    HANDLER_OVERRIDE: "(warning) a manifest handler replaces the resource's own method",
    UNKNOWN_PLUGIN: "no installed plugin has that name; the hint lists the installed ones",
    PLUGIN_FAILED: "a plugin's entry point raised while loading",
    BAD_PLUGIN: "a plugin lacks what its group requires (a `config` Struct, codec attributes)",
    UNKNOWN_KEY: "a plugin config key its `config` Struct does not define",
    MISSING_KEY: "a plugin config key its `config` Struct requires is absent",
    WRONG_TYPE: "a plugin config value has the wrong type",
    INVALID_VALUE: "a plugin config value is rejected by its `config` Struct",
}


class Problem(Exception):
    """One thing wrong with a resolved value; the collector locates it at a key."""

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


class Collector:
    """Gathers the diagnostics of one manifest, each located at its key."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.path = Path(manifest.path)
        self.diagnostics: list[Diagnostic] = []

    def locate(self, key: KeyPath) -> tuple[int, int]:
        """Return the (line, column) of a key, or of the nearest table that holds it."""
        locations = self.manifest.locations
        if locations is None:
            return (1, 1)
        return locations.locate(key)  # type: ignore[attr-defined]

    def add(self, key: KeyPath, problem: Problem) -> None:
        """Record a problem found while checking the value at `key`."""
        line, column = self.locate(problem.key or key)
        self.diagnostics.append(
            Diagnostic(
                path=self.path,
                line=line,
                column=column,
                code=problem.code,
                message=problem.message,
                hint=problem.hint,
                severity=problem.severity,
            )
        )

    def error(self, key: KeyPath, code: str, message: str, hint: str | None = None) -> None:
        """Record an error at `key`."""
        self.add(key, Problem(code, message, hint))

    def warning(self, key: KeyPath, code: str, message: str, hint: str | None = None) -> None:
        """Record a warning at `key`."""
        self.add(key, Problem(code, message, hint, severity="warning"))

    @property
    def has_errors(self) -> bool:
        return any(diagnostic.is_error for diagnostic in self.diagnostics)

    def sorted(self) -> tuple[Diagnostic, ...]:
        """Return the diagnostics in file order."""
        return sort_diagnostics(self.diagnostics)


def sort_diagnostics(diagnostics: Sequence[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Order diagnostics by position; the sort is stable for ties."""
    return tuple(sorted(diagnostics, key=lambda d: (d.line, d.column)))
