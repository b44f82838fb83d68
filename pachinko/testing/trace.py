"""The frame trace of a test client: each frame sent or read, numbered, decoded on demand."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import msgspec


class Recorded(Protocol):
    """What a failure report reads of a client (`BaseClient`)."""

    frames: list[Frame]

    @property
    def is_closed(self) -> bool: ...

    def format_trace(self) -> str: ...


# NOTE: lists the pytest plugin installs per test; every client opened meanwhile joins them,
# so a failing test can show the frames of all its clients.
recorders: list[list[Recorded]] = []


def decoded(data: str | bytes) -> object:
    """A frame's data decoded as its kind says: JSON for text, msgpack for binary, else as is."""
    try:
        if isinstance(data, str):
            return msgspec.json.decode(data)
        return msgspec.msgpack.decode(data)
    except (msgspec.DecodeError, TypeError):
        return data


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame in a client's trace: `direction` is "sent" or "received" (client's view).

    `kind` is "text", "binary" or "close"; a close frame carries `code` and its
    reason as `data`.
    """

    index: int
    direction: str
    kind: str
    data: str | bytes
    code: int | None = None

    @property
    def payload(self) -> object:
        """The decoded data: JSON for text, msgpack for binary, else the data as is."""
        if self.kind == "close":
            return {"code": self.code, "reason": self.data}
        return decoded(self.data)

    def json(self) -> object:
        """Decode a text frame as JSON; raises `ValueError` for anything else."""
        if self.kind != "text":
            raise ValueError(f"frame #{self.index} is a {self.kind} frame, not JSON text")
        try:
            return msgspec.json.decode(self.data)
        except msgspec.DecodeError as exc:
            raise ValueError(f"frame #{self.index} is not JSON: {self.data!r}") from exc

    def __str__(self) -> str:
        arrow = ">>" if self.direction == "sent" else "<<"
        return f"#{self.index:<3} {arrow} {self.kind:<6} {self.payload!r}"


@contextlib.contextmanager
def recording() -> Iterator[list[Recorded]]:
    """Collect every client created inside the block (the plugin's failure report)."""
    clients: list[Recorded] = []
    recorders.append(clients)
    try:
        yield clients
    finally:
        recorders.remove(clients)
