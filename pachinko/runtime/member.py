"""`Member`: what the connection manager needs of a local connection."""

from __future__ import annotations

from typing import Protocol

from pachinko.runtime.options import Activity
from pachinko.runtime.outbox import Outbox


class Member(Protocol):
    """What the manager needs of a local connection (a `pachinko.Connection` is one)."""

    id: str
    rooms: frozenset[str]
    state: dict[str, object]
    outbox: Outbox
    activity: Activity

    async def close(self, code: int = 1000, reason: str = "") -> None: ...
