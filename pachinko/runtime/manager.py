"""`WebSocketConnectionManager`: connections, rooms, presence, history, users and broadcast."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Iterable, Mapping

from pachinko.backends.base import Backend, Frames, Position
from pachinko.backends.memory import MemoryBackend
from pachinko.codecs.base import Codec
from pachinko.codecs.builtin import JsonCodec, MsgpackCodec
from pachinko.errors import BackendUnavailable, RoomFull, UnknownConnection
from pachinko.runtime.fanout import Buffered, fan_out
from pachinko.runtime.frames import Framer, nested_frame
from pachinko.runtime.member import Member
from pachinko.runtime.options import Limits, RoomOptions, RoomTable
from pachinko.runtime.outbox import Outbox

log = logging.getLogger("pachinko")
NOBODY: frozenset[Outbox] = frozenset()


class WebSocketConnectionManager:
    """Tracks this process's connections and reaches every process's through a backend.

    A frame is built once and encoded once per codec; every local member of a
    codec shares the same bytes, and nothing waits on the slowest member. The
    manager is the backend's `Sink` (`deliver`, `deliver_direct`, `resync`, `presence`).
    `broadcasts` counts the room deliveries this process fanned out (presence
    included) and `recipients` the local members they reached, for extensions.
    """

    def __init__(self, backend: Backend | None = None, rooms: Iterable[RoomOptions] = ()) -> None:
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self.room_table = RoomTable(tuple(rooms))
        self.codecs: Mapping[str, Codec] = {c.name: c for c in (JsonCodec(), MsgpackCodec())}
        self.framer: Framer = nested_frame
        self.max_history_bytes = Limits().max_history_bytes
        self._by_id: dict[str, Member] = {}
        # NOTE: each room's members with their outboxes, in join order: the fan-out walks
        # the outboxes alone (one object per member, roughly in allocation order).
        self._local: dict[str, dict[Member, Outbox]] = {}
        # NOTE: joiners waiting for their history: live frames queue here meanwhile.
        self._syncing: dict[str, dict[Outbox, Buffered]] = {}
        self._is_started = False
        self.broadcasts = 0
        self.recipients = 0

    def configure(self, codecs: Mapping[str, Codec], framer: Framer, budget: int) -> None:
        """Use the router's codecs and envelope style, and its history budget (bytes)."""
        self.codecs, self.framer, self.max_history_bytes = codecs, framer, budget

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Start the backend (idempotent); called at lifespan startup or first connect."""
        if not self._is_started:
            self._is_started = True
            await self.backend.start(self, max_history_bytes=self.max_history_bytes)

    async def stop(self) -> None:
        if self._is_started:
            self._is_started = False
            await self.backend.stop()

    def new_connection_id(self) -> str:
        """A fresh connection id (the backend's: it may name this process)."""
        return self.backend.new_connection_id()

    def register(self, conn: Member) -> None:
        self._by_id[conn.id] = conn

    async def unregister(self, conn: Member) -> None:
        """Forget a closed connection: leave its rooms (presence.leave) and drop it."""
        for room in tuple(conn.rooms):
            await self.leave(conn, room)
        if conn.state.get("user") is not None:
            await self.backend.forget(conn.id)
        self._by_id.pop(conn.id, None)

    # -- public API ---------------------------------------------------------

    def frames(self, type: str, payload: object = None) -> Frames:
        """One server frame, encoded lazily once per codec."""
        return Frames(self.framer(type, payload, None), self.codecs)

    async def broadcast(
        self,
        room: str,
        type: str,
        payload: object = None,
        exclude: str | Iterable[str] | None = None,
    ) -> None:
        """Send a frame to every member of `room` in every process, except `exclude`.

        Returns once the backend has accepted it (given it its place in the room's order).
        """
        options = self.room_table.options(room)
        frames, ids = self.frames(type, payload), _as_ids(exclude)
        await self.backend.publish(
            room, frames, ids, history=options.history, history_ttl=options.history_ttl
        )

    async def send_to(self, connection_id: str, type: str, payload: object = None) -> bool:
        """Send a frame to one connection, in whichever process holds it; False if unknown."""
        return await self.backend.send_to(connection_id, self.frames(type, payload))

    async def identify(self, conn: Member, user: str | int) -> None:
        """Set `conn.state["user"]` and index `conn` under that user on every process."""
        if isinstance(user, bool) or not isinstance(user, (str, int)):
            raise TypeError(f"a user is a str or an int, not {type(user).__name__}")
        conn.state["user"] = user
        await self.backend.identify(conn.id, str(user))

    async def send_to_user(self, user: str | int, type: str, payload: object = None) -> int:
        """Send a frame to every connection of `user` on every process; how many there were."""
        return await self.backend.send_to_user(str(user), self.frames(type, payload))

    async def user_connections(self, user: str | int) -> set[str]:
        return await self.backend.user_connections(str(user))

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
        """Add `conn` to `room`: its history, then exactly the live frames after it.

        Raises `RoomFull`, or `BackendUnavailable` (the connection is then not a member).
        """
        if room in conn.rooms:
            return
        options = self.room_table.options(room)
        # NOTE: local (and buffering) before the backend call, so no live frame after
        # the history snapshot can miss this connection while it waits.
        buffered: Buffered = []
        self._local.setdefault(room, {})[conn] = conn.outbox
        self._syncing.setdefault(room, {})[conn.outbox] = buffered
        conn.rooms = conn.rooms | {room}
        user = conn.state.get("user")
        presence = self.presence(room, "join", conn.id, user)
        try:
            result = await self.backend.join(
                room,
                conn.id,
                max_members=options.max_members,
                history=options.history,
                history_ttl=options.history_ttl,
                user=user,
                presence=presence,
            )
        except BaseException:
            self._unsync(conn, room)
            self._drop_local(conn, room)
            raise
        self._unsync(conn, room)
        if not result.is_joined:
            self._drop_local(conn, room)
            raise RoomFull(room)
        outbox, codec = conn.outbox, conn.outbox.codec
        for frames in result.history:
            outbox.push(outbox.wrap(frames.encoded(codec)))
        epoch, top = result.position
        for position, frames in buffered:
            if position is None or position.epoch != epoch or position.offset > top:
                outbox.push(outbox.wrap(frames.encoded(codec)))

    async def leave(self, conn: Member, room: str) -> None:
        """Remove `conn` from `room` and announce it (presence); always succeeds locally."""
        if room not in conn.rooms:
            return
        self._drop_local(conn, room)
        options = self.room_table.options(room)
        presence = self.presence(room, "leave", conn.id, conn.state.get("user"))
        try:
            await self.backend.leave(
                room, conn.id, history_ttl=options.history_ttl, presence=presence
            )
        except BackendUnavailable:
            log.warning("backend unavailable: %s left %r here only, for now", conn.id, room)

    def _drop_local(self, conn: Member, room: str) -> None:
        conn.rooms = conn.rooms - {room}
        local = self._local.get(room)
        if local is not None:
            local.pop(conn, None)
            if not local:
                del self._local[room]

    def _unsync(self, conn: Member, room: str) -> None:
        syncing = self._syncing.get(room)
        if syncing is not None:
            syncing.pop(conn.outbox, None)
            if not syncing:
                del self._syncing[room]

    # -- the backend's Sink ----------------------------------------------------

    def presence(self, room: str, kind: str, connection_id: str, user: object) -> Frames | None:
        """The `presence.<kind>` frame of a member, or None when `room` has no presence."""
        if not self.room_table.options(room).presence:
            return None
        payload = {"room": room, "connection": connection_id, "user": user}
        return self.frames(f"presence.{kind}", payload)

    def resync(self, room: str, reason: str) -> None:
        """Tell local members of `room` that they missed broadcasts: reload the room."""
        frames = self.frames("room.resync", {"room": room, "reason": reason})
        self.deliver(room, None, frames, frozenset())

    def deliver_direct(self, connection_ids: tuple[str, ...], frames: Frames) -> int:
        found = 0
        for connection_id in connection_ids:
            conn = self._by_id.get(connection_id)
            if conn is not None:
                outbox = conn.outbox
                outbox.push(outbox.wrap(frames.encoded(outbox.codec)))
                found += 1
        return found

    def deliver(
        self, room: str, position: Position | None, frames: Frames, exclude: frozenset[str]
    ) -> None:
        members = self._local.get(room)
        self.broadcasts += 1
        if not members:
            return
        syncing = self._syncing.get(room) if self._syncing else None
        # NOTE: excluded ids as this process's outboxes: the fan-out sees only outboxes.
        skipped: Collection[Outbox] = NOBODY
        if exclude:
            skipped = {c.outbox for c in map(self._by_id.get, exclude) if c is not None}
        reached = fan_out(members.values(), position, frames, skipped, syncing)
        self.recipients += reached


def _as_ids(exclude: str | Iterable[str] | None) -> frozenset[str]:
    if isinstance(exclude, str):
        return frozenset((exclude,))
    return frozenset(exclude or ())
