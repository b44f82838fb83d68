"""The in-process backend: rooms live in this process only."""

from __future__ import annotations

import itertools
import uuid
from typing import ClassVar

import msgspec

from pachinko.backends.base import Frames, JoinResult, Position, Sink
from pachinko.backends.history import HistoryStore


class MemoryConfig(msgspec.Struct, forbid_unknown_fields=True):
    """`[backend] use = "memory"` takes no other keys."""


class MemoryBackend:
    """Rooms, membership, users and history in dicts; delivery is a direct call.

    Nothing here awaits, so each operation is atomic. Offsets count per room;
    a room forgotten (empty, no history left) starts again under a new epoch.
    """

    config: ClassVar[type] = MemoryConfig

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self._sink: Sink | None = None
        self._members: dict[str, set[str]] = {}
        self._positions: dict[str, Position] = {}
        self._users: dict[str, set[str]] = {}
        self._user_of: dict[str, str] = {}
        self._epochs = itertools.count(1)
        self._boot = uuid.uuid4().hex[:8]
        self.history = HistoryStore(67_108_864, on_forget=self._tidy)

    @property
    def is_up(self) -> bool:
        """Always: there is nothing to reach."""
        return True

    def new_connection_id(self) -> str:
        return uuid.uuid4().hex

    async def start(self, sink: Sink, *, max_history_bytes: int = 67_108_864) -> None:
        self._sink = sink
        self.history.budget = max_history_bytes

    async def stop(self) -> None:
        self._sink = None

    def _position(self, room: str) -> Position:
        position = self._positions.get(room)
        if position is None:
            position = self._positions[room] = Position(f"{self._boot}.{next(self._epochs)}", 0)
        return position

    def _tidy(self, room: str) -> None:
        """Forget a room's position once it has neither members nor history."""
        if room not in self._members and room not in self.history:
            self._positions.pop(room, None)

    async def join(
        self,
        room: str,
        connection_id: str,
        *,
        max_members: int,
        history: int,
        history_ttl: float,
        user: object,
        presence: Frames | None,
    ) -> JoinResult:
        members = self._members.get(room)
        if members is None:
            members = self._members[room] = set()
        position = self._position(room)
        if connection_id in members:
            return JoinResult(True, position)
        if max_members and len(members) >= max_members:
            if not members:
                del self._members[room]
            return JoinResult(False, position)
        members.add(connection_id)
        self.history.occupied(room)
        kept = self.history.last(room, history)
        if presence is not None and self._sink is not None:
            self._sink.deliver(room, None, presence, frozenset((connection_id,)))
        return JoinResult(True, position, tuple(Frames.of(frames) for _, frames in kept))

    async def leave(
        self, room: str, connection_id: str, *, history_ttl: float, presence: Frames | None
    ) -> bool:
        members = self._members.get(room)
        if members is None or connection_id not in members:
            return False
        members.discard(connection_id)
        if not members:
            del self._members[room]  # NOTE: history outlives members, for late joiners.
            self.history.emptied(room, history_ttl)
            self._tidy(room)
        if presence is not None and self._sink is not None:
            self._sink.deliver(room, None, presence, frozenset((connection_id,)))
        return True

    async def publish(
        self,
        room: str,
        frames: Frames,
        exclude: frozenset[str],
        *,
        history: int,
        history_ttl: float,
    ) -> Position:
        epoch, offset = self._position(room)
        position = self._positions[room] = Position(epoch, offset + 1)
        if history:
            # NOTE: every codec's bytes, copied to exact size (encoders over-allocate), so
            # the budget counts what is really held; the payload object itself is not kept.
            kept = {name: bytes(memoryview(data)) for name, data in frames.freeze().items()}
            self.history.add(room, position.offset, kept, history)
            if room not in self._members:
                self.history.emptied(room, history_ttl)
        if self._sink is not None:
            self._sink.deliver(room, position, frames, exclude)
        if room not in self._members:
            self._tidy(room)
        return position

    async def send_to(self, connection_id: str, frames: Frames) -> bool:
        if self._sink is None:
            return False
        return self._sink.deliver_direct((connection_id,), frames) > 0

    async def identify(self, connection_id: str, user: str) -> None:
        await self.forget(connection_id)
        self._user_of[connection_id] = user
        self._users.setdefault(user, set()).add(connection_id)

    async def forget(self, connection_id: str) -> None:
        user = self._user_of.pop(connection_id, None)
        if user is not None:
            conns = self._users[user]
            conns.discard(connection_id)
            if not conns:
                del self._users[user]

    async def send_to_user(self, user: str, frames: Frames) -> int:
        conns = tuple(self._users.get(user, ()))
        if conns and self._sink is not None:
            self._sink.deliver_direct(conns, frames)
        return len(conns)

    async def user_connections(self, user: str) -> set[str]:
        return set(self._users.get(user, ()))

    async def members(self, room: str) -> set[str]:
        return set(self._members.get(room, ()))

    async def rooms(self) -> set[str]:
        return set(self._members)
