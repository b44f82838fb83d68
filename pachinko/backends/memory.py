"""The in-process backend: rooms live in this process only."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

import msgspec

from pachinko.backends.base import Deliver


class MemoryConfig(msgspec.Struct, forbid_unknown_fields=True):
    """`[backend] use = "memory"` takes no other keys."""


class MemoryBackend:
    """Rooms, membership and history in dicts; delivery is a direct call."""

    config: ClassVar[type] = MemoryConfig

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self._deliver: Deliver | None = None
        self._members: dict[str, set[str]] = {}
        self._history: dict[str, deque[tuple[str, object]]] = {}

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    async def publish(
        self, room: str, type_: str, payload: object, exclude: frozenset[str]
    ) -> None:
        if self._deliver is not None:
            self._deliver(room, None, type_, payload, exclude)

    async def send_to(self, connection_id: str, type_: str, payload: object) -> None:
        if self._deliver is not None:
            self._deliver(None, connection_id, type_, payload, frozenset())

    async def add_member(self, room: str, connection_id: str, max_members: int) -> bool:
        members = self._members.setdefault(room, set())
        if max_members and len(members) >= max_members and connection_id not in members:
            return False
        members.add(connection_id)
        return True

    async def remove_member(self, room: str, connection_id: str) -> None:
        members = self._members.get(room)
        if members is not None:
            members.discard(connection_id)
            if not members:
                del self._members[room]  # NOTE: history outlives members, for late joiners.

    async def members(self, room: str) -> set[str]:
        return set(self._members.get(room, ()))

    async def rooms(self) -> set[str]:
        return set(self._members)

    async def add_history(self, room: str, type_: str, payload: object, limit: int) -> None:
        kept = self._history.get(room)
        if kept is None or kept.maxlen != limit:
            kept = self._history[room] = deque(kept or (), maxlen=limit)
        kept.append((type_, payload))

    async def history(self, room: str) -> list[tuple[str, object]]:
        return list(self._history.get(room, ()))
