"""The backend protocol that `pachinko.backends` plugins implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

#: Local delivery callback the manager gives a backend:
#: `deliver(room, connection_id, type, payload, exclude)`; exactly one of
#: `room` / `connection_id` is set.
Deliver = Callable[[str | None, str | None, str, object, frozenset[str]], None]


class Backend(Protocol):
    """Shares rooms, membership and history between server processes.

    `publish` and `send_to` reach every process, this one included, by calling
    each process's `deliver`. Membership methods are atomic across processes.
    """

    config: ClassVar[type]

    async def start(self, deliver: Deliver) -> None: ...

    async def stop(self) -> None: ...

    async def publish(
        self, room: str, type_: str, payload: object, exclude: frozenset[str]
    ) -> None: ...

    async def send_to(self, connection_id: str, type_: str, payload: object) -> None: ...

    async def add_member(self, room: str, connection_id: str, max_members: int) -> bool:
        """Add a member; False when the room already has `max_members` (0: unlimited)."""
        ...

    async def remove_member(self, room: str, connection_id: str) -> None: ...

    async def members(self, room: str) -> set[str]: ...

    async def rooms(self) -> set[str]: ...

    async def add_history(self, room: str, type_: str, payload: object, limit: int) -> None: ...

    async def history(self, room: str) -> list[tuple[str, object]]: ...
