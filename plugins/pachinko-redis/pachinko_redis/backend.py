"""`RedisBackend`: rooms, history, users and delivery shared by every process through Redis."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, TypeVar

import msgspec
from redis.asyncio import BlockingConnectionPool, Redis

from pachinko.backends.base import Frames, JoinResult, Position, Sink
from pachinko.errors import BackendUnavailable
from pachinko_redis import scripts
from pachinko_redis.client import DOWN, bounded, redis_options
from pachinko_redis.config import RedisConfig
from pachinko_redis.link import Link, body

log = logging.getLogger("pachinko.redis")
T = TypeVar("T")
_json = msgspec.json.Encoder()
_unjson = msgspec.json.Decoder()


class RedisBackend:
    """The `redis` backend: one inbox channel per process, one Lua script per operation.

    See docs/deployment.md for the guarantees and docs/backends.md for the protocol.
    """

    config: ClassVar[type] = RedisConfig

    def __init__(self, config: RedisConfig | None = None) -> None:
        self.settings = config if config is not None else RedisConfig()
        self.node = secrets.token_hex(5)
        self.prefix = self.settings.prefix
        self.inbox_prefix = f"{self.prefix}:n:"
        self.sink: Sink | None = None
        self.client: Redis | None = None
        self.local: dict[str, dict[str, str]] = {}  # room -> local member -> user json
        self.users: dict[str, str] = {}  # local connection -> user
        self.by_user: dict[str, set[str]] = {}
        self.dirty: set[str] = set()  # rooms to reconcile (a leave that could not reach Redis)
        self.link = Link(self)
        self.lua: dict[str, Any] = {}

    # -- keys --
    def room_keys(self, room: str) -> tuple[str, str, str, str]:
        base = f"{self.prefix}:r:{{{room}}}"
        return f"{base}:m", f"{base}:n", f"{base}:s", f"{base}:h"

    def node_keys(self, node: str) -> tuple[str, str]:
        return f"{self.prefix}:node:{node}:r", f"{self.prefix}:node:{node}:u"

    @property
    def nodes_key(self) -> str:
        return f"{self.prefix}:nodes"

    def user_key(self, user: str) -> str:
        return f"{self.prefix}:u:{{{user}}}"

    # -- lifecycle --
    @property
    def is_up(self) -> bool:
        """True while the inbox subscription is live and the last probe came back in time."""
        return self.link.is_up

    def new_connection_id(self) -> str:
        return f"{self.node}.{uuid.uuid4().hex[:20]}"

    async def start(self, sink: Sink, *, max_history_bytes: int = 0) -> None:
        """Connect (waiting at most `connect_timeout` for the first link); never raises."""
        self.sink = sink
        pool = BlockingConnectionPool.from_url(
            self.settings.url,
            max_connections=self.settings.pool_size,
            timeout=float(self.settings.op_timeout),
            socket_timeout=float(self.settings.op_timeout),
            **redis_options(self.settings),
        )
        self.client = Redis.from_pool(pool)
        for name in (n for n in dir(scripts) if n.isupper()):
            self.lua[name] = self.client.register_script(getattr(scripts, name))
        await self.link.start()

    async def stop(self) -> None:
        await self.link.stop()
        if self.client is not None:
            try:
                await bounded(
                    self.client.zrem(self.nodes_key, self.node), float(self.settings.op_timeout)
                )
            except DOWN:
                log.warning("could not deregister process %s; its lease will lapse", self.node)
            await self.client.aclose()
            self.client = None
        self.sink = None

    async def run(self, name: str, keys: Sequence[str], args: Sequence[object]) -> Any:
        """Run one script within `op_timeout`; raises `BackendUnavailable`."""
        return await self.call(self.lua[name](keys=keys, args=args))

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await bounded(awaitable, float(self.settings.op_timeout))
        except DOWN as exc:
            raise BackendUnavailable(f"redis did not answer in time: {exc!r}") from exc

    def epoch(self) -> str:
        return secrets.token_hex(4)

    # -- rooms --
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
        m, n, s, h = self.room_keys(room)
        rooms_key, _ = self.node_keys(self.node)
        user_json = _json.encode(user).decode()
        self.local.setdefault(room, {})[connection_id] = user_json
        announce = body(room, (connection_id,), presence) if presence is not None else b""
        try:
            status, epoch, top, kept, purged = await self.run(
                "JOIN",
                (m, n, s, h, self.nodes_key, rooms_key, f"{self.prefix}:rooms"),
                (connection_id, self.node, user_json, max_members, history, self.epoch(),
                 self.inbox_prefix, announce, room, int(history_ttl * 1000)),
            )  # fmt: skip
        except BaseException:
            self._forget_local(room, connection_id)
            self.dirty.add(room)  # NOTE: the script may have run: reconcile later
            raise
        position = Position(epoch.decode(), int(top))
        await self.announce_left(room, purged)
        if status == b"full":
            self._forget_local(room, connection_id)
            return JoinResult(False, position)
        self.link.joined(room, position)
        return JoinResult(True, position, tuple(self.link.frames_of(entry) for entry in kept))

    def _forget_local(self, room: str, connection_id: str) -> None:
        local = self.local.get(room)
        if local is not None:
            local.pop(connection_id, None)
            if not local:
                del self.local[room]
                self.link.left(room)

    async def leave(
        self, room: str, connection_id: str, *, history_ttl: float, presence: Frames | None
    ) -> bool:
        self._forget_local(room, connection_id)
        m, n, s, h = self.room_keys(room)
        rooms_key, _ = self.node_keys(self.node)
        announce = body(room, (connection_id,), presence) if presence is not None else b""
        try:
            left = await self.run(
                "LEAVE",
                (m, n, rooms_key, f"{self.prefix}:rooms", s, h),
                (connection_id, self.node, room, announce, self.inbox_prefix,
                 int(history_ttl * 1000)),
            )  # fmt: skip
        except BackendUnavailable:
            self.dirty.add(room)
            log.warning("redis unavailable: %s leaves %r once it is back", connection_id, room)
            return True
        return bool(left)

    async def announce_left(self, room: str, pairs: Sequence[bytes]) -> None:
        """Publish `presence.leave` for members removed because their process died."""
        await self.announce(room, "leave", pairs)

    async def announce(self, room: str, kind: str, pairs: Sequence[bytes]) -> None:
        """Publish `presence.<kind>` for `[conn, user json, ...]` to the room's processes."""
        if not pairs or self.sink is None:
            return
        _, n, _, _ = self.room_keys(room)
        for i in range(0, len(pairs), 2):
            conn, user = pairs[i].decode(), _unjson.decode(pairs[i + 1])
            frames = self.sink.presence(room, kind, conn, user)
            if frames is not None:
                await self.run(
                    "FANOUT", (n,), (self.inbox_prefix, b"p" + body(room, (conn,), frames))
                )

    async def publish(
        self,
        room: str,
        frames: Frames,
        exclude: frozenset[str],
        *,
        history: int,
        history_ttl: float,
    ) -> Position:
        m, n, s, h = self.room_keys(room)
        settings = self.settings
        epoch, offset = await self.run(
            "PUBLISH",
            (s, h, n, m),
            (body(room, tuple(exclude), frames), history, settings.recovery,
             int(settings.recovery_ttl * 1000), self.epoch(), self.inbox_prefix,
             int(history_ttl * 1000)),
        )  # fmt: skip
        return Position(epoch.decode(), int(offset))

    async def members(self, room: str) -> set[str]:
        m, n, _, _ = self.room_keys(room)
        found, purged = await self.run("MEMBERS", (m, n, self.nodes_key), ())
        await self.announce_left(room, purged)
        return {conn.decode() for conn in found}

    async def rooms(self) -> set[str]:
        found = await self.call(self.client.smembers(f"{self.prefix}:rooms"))  # type: ignore[union-attr]
        return {room.decode() for room in found}

    # -- direct sends and users --
    async def send_to(self, connection_id: str, frames: Frames) -> bool:
        node, dot, _ = connection_id.partition(".")
        if not dot or self.client is None:
            return False
        message = b"d" + body("", (connection_id,), frames)
        return await self.call(self.client.publish(self.inbox_prefix + node, message)) > 0

    async def identify(self, connection_id: str, user: str) -> None:
        await self.forget(connection_id)
        self.users[connection_id] = user
        self.by_user.setdefault(user, set()).add(connection_id)
        try:
            await self.index_user(connection_id, user)
        except BackendUnavailable:
            self._unindex(connection_id)  # NOTE: not indexed in Redis: not here either
            raise

    async def index_user(self, connection_id: str, user: str) -> None:
        _, users_key = self.node_keys(self.node)
        pipe = self.client.pipeline(transaction=False)  # type: ignore[union-attr]
        pipe.hset(self.user_key(user), connection_id, self.node)
        pipe.sadd(users_key, user)
        await self.call(pipe.execute())

    def _unindex(self, connection_id: str) -> str | None:
        user = self.users.pop(connection_id, None)
        conns = self.by_user.get(user, set()) if user is not None else set()
        conns.discard(connection_id)
        if user is not None and not conns:
            self.by_user.pop(user, None)
        return user

    async def forget(self, connection_id: str) -> None:
        user = self._unindex(connection_id)
        if user is None:
            return
        try:
            await self.call(self.client.hdel(self.user_key(user), connection_id))  # type: ignore[union-attr]
        except BackendUnavailable:
            log.warning(
                "redis unavailable: %s stays in %r's index until reaped", connection_id, user
            )

    async def send_to_user(self, user: str, frames: Frames) -> int:
        message = b"u" + body(user, (), frames)
        keys = (self.user_key(user), self.nodes_key)
        return int(await self.run("SEND_TO_USER", keys, (self.inbox_prefix, message)))

    async def user_connections(self, user: str) -> set[str]:
        found = await self.run("USER_CONNECTIONS", (self.user_key(user), self.nodes_key), ())
        return {conn.decode() for conn in found}
