"""`WebSocketConnectionManager`: connections, rooms, presence, history and broadcast."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from pachinko.backends.base import Backend
from pachinko.backends.memory import MemoryBackend
from pachinko.errors import RoomFull, UnknownConnection
from pachinko.runtime.frames import Event
from pachinko.runtime.options import Activity, RoomOptions, RoomTable
from pachinko.runtime.outbox import Outbox

log = logging.getLogger("pachinko")


class Member(Protocol):
    """What the manager needs of a local connection (a `pachinko.Connection` is one)."""

    id: str
    rooms: frozenset[str]
    state: dict[str, object]
    outbox: Outbox
    activity: Activity

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class WebSocketConnectionManager:
    """Tracks this process's connections and reaches every process's through a backend.

    Broadcast encodes a frame once per codec and queues the same bytes for every
    local member without waiting on any of them. `broadcasts` counts the room
    deliveries this process fanned out (presence frames included) and `recipients`
    the local members they reached: plain integers for extensions to read.
    """

    def __init__(self, backend: Backend | None = None, rooms: Iterable[RoomOptions] = ()) -> None:
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self.room_table = RoomTable(tuple(rooms))
        self._by_id: dict[str, Member] = {}
        self._local: dict[str, set[Member]] = {}
        self._is_started = False
        self.broadcasts = 0
        self.recipients = 0

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Start the backend (idempotent); called at lifespan startup or first connect."""
        if not self._is_started:
            self._is_started = True
            await self.backend.start(self._deliver)

    async def stop(self) -> None:
        if self._is_started:
            self._is_started = False
            await self.backend.stop()

    def register(self, conn: Member) -> None:
        self._by_id[conn.id] = conn

    async def unregister(self, conn: Member) -> None:
        """Forget a closed connection: leave its rooms (presence.leave) and drop it."""
        for room in tuple(conn.rooms):
            await self.leave(conn, room)
        self._by_id.pop(conn.id, None)

    # -- public API ---------------------------------------------------------

    async def broadcast(
        self,
        room: str,
        type: str,
        payload: object = None,
        exclude: str | Iterable[str] | None = None,
    ) -> None:
        """Send a frame to every member of `room` in every process, except `exclude`."""
        excluded = _as_ids(exclude)
        history = self.room_table.options(room).history
        if history:
            await self.backend.add_history(room, type, payload, history)
        await self.backend.publish(room, type, payload, excluded)

    async def send_to(self, connection_id: str, type: str, payload: object = None) -> None:
        """Send a frame to one connection, in whichever process holds it."""
        conn = self._by_id.get(connection_id)
        if conn is not None:
            await conn.outbox.write(conn.outbox.encode(type, payload, None))
            return
        await self.backend.send_to(connection_id, type, payload)

    async def members(self, room: str) -> set[str]:
        return await self.backend.members(room)

    async def rooms(self) -> set[str]:
        return await self.backend.rooms()

    async def connections(self, room: str | None = None) -> AsyncIterator[Member]:
        """Iterate this process's connections, or its members of `room`."""
        found = self._by_id.values() if room is None else self._local.get(room, ())
        for conn in tuple(found):
            yield conn

    def count(self) -> int:
        """Number of connections open in this process."""
        return len(self._by_id)

    def get(self, connection_id: str) -> Member:
        """Return a local connection; raises `UnknownConnection`."""
        try:
            return self._by_id[connection_id]
        except KeyError:
            raise UnknownConnection(connection_id) from None

    # -- rooms -------------------------------------------------------------

    async def join(self, conn: Member, room: str) -> None:
        """Add `conn` to `room`: replay history to it, then announce it (presence)."""
        if room in conn.rooms:
            return
        options = self.room_table.options(room)
        if not await self.backend.add_member(room, conn.id, options.max_members):
            raise RoomFull(room)
        conn.rooms = conn.rooms | {room}
        self._local.setdefault(room, set()).add(conn)
        if options.history:
            outbox = conn.outbox
            for type_, payload in await self.backend.history(room):
                await outbox.write(outbox.encode(type_, payload, None))
        if options.presence:
            await self.backend.publish(
                room, "presence.join", _presence(room, conn), frozenset((conn.id,))
            )

    async def leave(self, conn: Member, room: str) -> None:
        """Remove `conn` from `room` and announce it to the others (presence)."""
        if room not in conn.rooms:
            return
        conn.rooms = conn.rooms - {room}
        local = self._local.get(room)
        if local is not None:
            local.discard(conn)
            if not local:
                del self._local[room]
        await self.backend.remove_member(room, conn.id)
        if self.room_table.options(room).presence:
            await self.backend.publish(
                room, "presence.leave", _presence(room, conn), frozenset((conn.id,))
            )

    # -- delivery (called by the backend) ---------------------------------------

    def _deliver(
        self,
        room: str | None,
        connection_id: str | None,
        type_: str,
        payload: object,
        exclude: frozenset[str],
    ) -> None:
        if connection_id is not None:
            conn = self._by_id.get(connection_id)
            if conn is not None:
                conn.outbox.push(conn.outbox.encode(type_, payload, None))
            return
        members = self._local.get(room) if room is not None else None
        self.broadcasts += 1
        if not members:
            return
        # NOTE: encode once per codec; every member of a codec shares the same event.
        events: dict[object, Event] = {}
        codec: object = None
        event: Event = {}
        reached = 0
        for conn in tuple(members):
            if exclude and conn.id in exclude:
                continue
            outbox = conn.outbox
            if outbox.codec is not codec:
                codec = outbox.codec
                event = events.get(codec) or events.setdefault(
                    codec, outbox.encode(type_, payload, None)
                )
            # PERF: inlines Outbox.push (its documented fields); this loop runs once per
            # member per broadcast. tests/unit/runtime/test_outbox.py runs both paths.
            if outbox.is_closed:
                continue
            reached += 1  # NOTE: counted once here, not in each member's outbox stats
            if outbox.write_started or outbox.queue:
                outbox.enqueue(event)
                continue
            write = outbox.send(event).__await__()
            try:
                for pending in write:
                    outbox.finish_later(write, pending)
                    break
            except Exception:
                outbox.is_closed = True
        self.recipients += reached


def _as_ids(exclude: str | Iterable[str] | None) -> frozenset[str]:
    if exclude is None:
        return frozenset()
    if isinstance(exclude, str):
        return frozenset((exclude,))
    return frozenset(exclude)


def _presence(room: str, conn: Member) -> dict[str, object]:
    return {"room": room, "connection": conn.id, "user": conn.state.get("user")}
