"""Errors pachinko raises on purpose, and the located diagnostics of a manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class PachinkoError(Exception):
    """Base of every error pachinko raises on purpose."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a manifest, located at a line and column (both 1-based)."""

    path: Path
    line: int
    column: int
    code: str  # "unknown-key", "import-failed", ...
    message: str
    hint: str | None = None
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        text = f"{where}: {self.severity}[{self.code}]: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape printed by `pachinko check --format json`."""
        return {
            "path": str(self.path),
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class ManifestError(PachinkoError):
    """The manifest cannot be used; carries every problem found (warnings included)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(map(str, self.diagnostics)))


class Reject(PachinkoError):
    """Refuse a connection from a hook: HTTP 403 before accept, else close with `code`.

    Without a code it is 403 in `before_connect` and close 1008 later; a 4xxx code
    accepts and closes with that code.
    """

    def __init__(self, code: int | None = None, reason: str = "") -> None:
        if code is not None and not 4000 <= code <= 4999:
            raise ValueError(f"Reject code must be in 4000-4999, got {code}")
        self.code = code
        self.reason = reason
        super().__init__(reason or (f"rejected with {code}" if code else "rejected"))


class RoomFull(PachinkoError):
    """A connection tried to join a room already at its `max_members`."""

    def __init__(self, room: str) -> None:
        self.room = room
        super().__init__(f"room {room!r} is full")


class UnknownConnection(PachinkoError, LookupError):
    """No connection with that id is known to the manager."""


class BackendUnavailable(PachinkoError, ConnectionError):
    """The backend (e.g. Redis) could not be reached within its timeout.

    Uncaught in a handler it becomes a `backend_unavailable` error frame; the
    connection stays open.
    """


class MissingDependency(PachinkoError, ImportError):
    """A plugin needs a package that is not installed; `hint` says how to install it.

    Raise it from the plugin's module, from the original ImportError: `pachinko
    check` then reports the plugin as failing to load with this hint.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint
