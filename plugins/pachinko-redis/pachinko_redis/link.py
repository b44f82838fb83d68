"""The supervised link: inbox reader, heartbeat, self-probe, reaper, catch-up and resync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any

import msgspec
from redis.asyncio import Redis

from pachinko.backends.base import Frames, Position
from pachinko.errors import BackendUnavailable
from pachinko_redis.client import bounded, redis_options

if TYPE_CHECKING:
    from pachinko_redis.backend import RedisBackend

log = logging.getLogger("pachinko.redis")
Body = tuple[str, list[str], dict[str, bytes]]
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Body).decode


def body(key: str, ids: Sequence[str], frames: Frames) -> bytes:
    """`[room or user, connection ids, {codec: frame bytes}]`: what crosses processes."""
    return _encode((key, list(ids), frames.freeze()))


class Link:
    """Keeps this process subscribed to its inbox and every local room in order.

    It never exits before `stop()`: any failure (a dropped or deaf subscription,
    Redis restarted) is logged, retried with capped backoff, and followed by a
    reconcile and a catch-up from each room's stream, or `room.resync`.
    """

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self.seen: dict[str, Position] = {}  # last position delivered, per local room
        self.is_up = False
        self.subscriptions = 0  # inbox subscriptions confirmed so far
        self._subscribed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._registered = False

    def frames_of(self, entry: bytes) -> Frames:
        return Frames.of(_decode(entry)[2])

    def joined(self, room: str, position: Position) -> None:
        seen = self.seen.get(room)
        if seen is None or seen.epoch != position.epoch or seen.offset < position.offset:
            self.seen[room] = position

    def left(self, room: str) -> None:
        self.seen.pop(room, None)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise())
        try:
            await asyncio.wait_for(self._up.wait(), float(self.backend.settings.connect_timeout))
        except asyncio.TimeoutError:
            log.warning("redis not reachable at start; retrying in the background")

    async def wait_subscribed(self, count: int, timeout: float) -> None:
        """Wait until the inbox has been subscribed `count` times in all (tests, tools)."""
        async with self._subscribed:
            await asyncio.wait_for(
                self._subscribed.wait_for(lambda: self.subscriptions >= count), timeout
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _supervise(self) -> None:
        delay: float = 0.05
        down_since: float | None = None
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                now = monotonic()
                if down_since is None:
                    down_since = now
                    log.warning("redis link lost (%r); reconnecting", exc)
                elif now - down_since > 30:
                    log.error("redis link down for %.0f s (%r)", now - down_since, exc)
            if self._up.is_set():
                # NOTE: it was up: retry at once (a killed subscription), then back off.
                delay, down_since = 0.05, None
                self._up.clear()
                continue
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)

    async def _session(self) -> None:
        backend, settings = self.backend, self.backend.settings
        client = Redis.from_url(settings.url, **redis_options(settings))
        pubsub = client.pubsub()
        beat: asyncio.Task[None] | None = None
        op, period = float(settings.op_timeout), float(settings.heartbeat)
        try:
            await bounded(pubsub.subscribe(backend.inbox_prefix + backend.node), op)
            confirmed = await bounded(pubsub.get_message(timeout=op), op)
            if not confirmed or confirmed["type"] != "subscribe":
                raise ConnectionError(f"no subscribe confirmation: {confirmed!r}")
            async with self._subscribed:
                self.subscriptions += 1
                self._subscribed.notify_all()
            await self._sync()
            self.is_up = True
            self._up.set()
            log.info("redis link up (node %s)", backend.node)
            beat = asyncio.get_running_loop().create_task(self._beat())
            last = monotonic()
            while True:
                message = await pubsub.get_message(timeout=period)
                now = monotonic()
                if beat.done():
                    beat.result()
                if message is None:
                    if now - last > 2 * period + op:
                        raise ConnectionError("no probe came back: the subscription is deaf")
                    continue
                last = now
                if message["type"] == "message":
                    await self._handle(message["data"])
        finally:
            self.is_up = False
            if beat is not None:
                beat.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 1.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), 1.0)

    async def _beat(self) -> None:
        """Every heartbeat: renew the lease, probe the inbox, reap the dead, reconcile."""
        backend = self.backend
        period = float(backend.settings.heartbeat)
        while True:
            await asyncio.sleep(period)
            try:
                await self._heartbeat()
                for room in tuple(backend.dirty):
                    backend.dirty.discard(room)
                    await self._reassert(room)
            except BackendUnavailable as exc:
                log.warning("redis heartbeat failed: %r", exc)

    async def _heartbeat(self) -> None:
        backend = self.backend
        rooms_key, users_key = backend.node_keys(backend.node)
        lease_ms = int(backend.settings.lease * 1000)
        inbox = backend.inbox_prefix + backend.node
        was, dead = await backend.run(
            "HEARTBEAT",
            (backend.nodes_key, rooms_key, users_key),
            (backend.node, lease_ms, inbox, ""),
        )
        if not was and self._registered:
            log.warning("process %s was reaped while alive; re-adding its members", backend.node)
            for room in tuple(backend.local):
                await self._reassert(room, announce=True)
            await self._reindex()
        self._registered = True
        for node in dead:
            await self._reap(node.decode())

    async def _reap(self, node: str) -> None:
        """Remove a dead process's members (announcing them) and its users."""
        backend = self.backend
        if not await backend.call(backend.client.zrem(backend.nodes_key, node)):  # type: ignore[union-attr]
            return  # NOTE: another process claimed it
        rooms_key, users_key = backend.node_keys(node)
        for room in await backend.call(backend.client.smembers(rooms_key)):  # type: ignore[union-attr]
            name = room.decode()
            m, n, s, h = backend.room_keys(name)
            removed = await backend.run(
                "REAP_ROOM", (m, n, f"{backend.prefix}:rooms", s, h), (node, name)
            )
            await backend.announce_left(name, removed)
        for user in await backend.call(backend.client.smembers(users_key)):  # type: ignore[union-attr]
            await backend.run("REAP_USER", (backend.user_key(user.decode()),), (node,))
        await backend.call(backend.client.delete(rooms_key, users_key))  # type: ignore[union-attr]
        log.info("reaped dead process %s", node)

    async def _sync(self) -> None:
        """After (re)connecting: lease, users, memberships, then catch up every local room."""
        await self._heartbeat()
        await self._reindex()
        for room in tuple(self.backend.local):
            await self._reassert(room)

    async def _reindex(self) -> None:
        for conn, user in tuple(self.backend.users.items()):
            await self.backend.index_user(conn, user)

    async def _reassert(self, room: str, *, announce: bool = False) -> None:
        backend = self.backend
        m, n, s, h = backend.room_keys(room)
        rooms_key, _ = backend.node_keys(backend.node)
        pairs = [
            item for conn, user in backend.local.get(room, {}).items() for item in (conn, user)
        ]
        epoch, offset, added = await backend.run(
            "REASSERT",
            (m, n, rooms_key, f"{backend.prefix}:rooms", s, h),
            (backend.node, room, backend.epoch(), *pairs),
        )
        seen = self.seen.get(room)
        if announce and added and seen is not None and seen.epoch == epoch.decode():
            # NOTE: reaped while alive: peers were told these members left; they are back.
            # (After a Redis data loss the epoch is new and members get room.resync instead.)
            await backend.announce(room, "join", added)
        if room in backend.local:
            await self._catch_up(room, Position(epoch.decode(), int(offset)))

    async def _catch_up(self, room: str, top: Position) -> None:
        """Deliver what this process missed in `room` up to `top`, or tell members to resync."""
        seen = self.seen.get(room)
        sink = self.backend.sink
        if seen is None or sink is None:
            self.seen[room] = top
            return
        reason = None
        if seen.epoch != top.epoch:
            reason = "reset"
        elif top.offset < seen.offset:
            reason = "rewind"
        elif top.offset > seen.offset:
            _, _, _, h = self.backend.room_keys(room)
            rows = await self.backend.call(
                self.backend.client.xrange(h, f"{seen.offset + 1}-0", f"{top.offset}-0")  # type: ignore[union-attr]
            )
            offsets = [int(entry_id.split(b"-")[0]) for entry_id, _ in rows]
            if offsets != list(range(seen.offset + 1, top.offset + 1)):
                reason = "gap"
            else:
                for offset, (_, fields) in zip(offsets, rows, strict=True):
                    _, exclude, frames = _decode(fields[b"f"])
                    sink.deliver(
                        room, Position(top.epoch, offset), Frames.of(frames), frozenset(exclude)
                    )
        if reason is not None:
            log.warning("room %r: %s from %s to %s; members resync", room, reason, seen, top)
            sink.resync(room, reason)
        self.seen[room] = top

    async def _handle(self, data: bytes) -> None:
        kind, sink = data[:1], self.backend.sink
        if sink is None or kind == b"h":
            return
        if kind == b"b":
            offset, _, rest = data[1:].partition(b" ")
            epoch, _, payload = rest.partition(b" ")
            room, exclude, frames = _decode(payload)
            position = Position(epoch.decode(), int(offset))
            if room not in self.backend.local:
                return
            seen = self.seen.get(room)
            if seen is not None and seen.epoch == position.epoch:
                if position.offset <= seen.offset:
                    return  # NOTE: already delivered by a catch-up
                if position.offset > seen.offset + 1:
                    await self._catch_up(room, Position(position.epoch, position.offset - 1))
            elif seen is not None:
                sink.resync(room, "reset")
            self.seen[room] = position
            sink.deliver(room, position, Frames.of(frames), frozenset(exclude))
        elif kind == b"p":
            room, exclude, frames = _decode(data[1:])
            sink.deliver(room, None, Frames.of(frames), frozenset(exclude))
        elif kind == b"d":
            _, ids, frames = _decode(data[1:])
            sink.deliver_direct(tuple(ids), Frames.of(frames))
        elif kind == b"u":
            user, _, frames = _decode(data[1:])
            conns = tuple(self.backend.by_user.get(user, ()))
            if conns:
                sink.deliver_direct(conns, Frames.of(frames))

    def status(self) -> dict[str, Any]:
        return {"up": self.is_up, "node": self.backend.node, "rooms": len(self.seen)}
