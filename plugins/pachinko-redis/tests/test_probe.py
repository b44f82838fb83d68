"""A subscription that is open but deaf (a TCP blackhole) is found by the self-probe."""

from __future__ import annotations

import asyncio
import contextlib
from time import monotonic

from pachinko_redis import RedisBackend, RedisConfig
from redis_harness import RedisServer

from pachinko.manifest.values import Duration
from pachinko.testing.conformance import Node, frame


class Blackhole:
    """A TCP proxy to Redis; `freeze()` stops forwarding on open connections, sockets left open."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.pumps: list[asyncio.Task[None]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]
        loop = asyncio.get_running_loop()
        self.pumps += [
            loop.create_task(self._pump(reader, up_writer)),
            loop.create_task(self._pump(up_reader, writer)),
        ]

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    def freeze(self) -> None:
        for pump in self.pumps:
            pump.cancel()
        self.pumps = []

    async def close(self) -> None:
        self.freeze()
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_deaf_subscription_is_replaced_within_two_heartbeats(
    redis_server: RedisServer, prefix: str
) -> None:
    hole = Blackhole(redis_server.port)
    port = await hole.start()
    # heartbeat 0.4 s, lease 1.2 s, op_timeout 0.3 s: deaf after 2 x 0.4 + 0.3 = 1.1 s
    settings = {"prefix": prefix, "presence_ttl": Duration(2.0), "op_timeout": Duration(0.3)}
    deaf = RedisBackend(RedisConfig(url=f"redis://127.0.0.1:{port}/0", **settings))
    direct = RedisBackend(RedisConfig(url=redis_server.url, **settings))
    receiver, sender = Node(deaf), Node(direct)
    await deaf.start(receiver)
    await direct.start(sender)
    try:
        conn = receiver.connect()
        await receiver.join("probe", conn)
        await direct.publish("probe", frame("m", 1), frozenset(), history=0, history_ttl=60)
        await receiver.wait(lambda: receiver.payloads(conn) == [1])
        sessions = deaf.link.subscriptions
        hole.freeze()
        started = monotonic()
        await direct.publish("probe", frame("m", 2), frozenset(), history=0, history_ttl=60)
        await deaf.link.wait_subscribed(sessions + 1, timeout=10)
        elapsed = monotonic() - started
        assert elapsed < 1.1 + 1.0, elapsed
        await receiver.wait(lambda: receiver.payloads(conn) == [1, 2], timeout=5)
        assert receiver.types(conn) == ["m", "m"]  # caught up: no room.resync
    finally:
        await deaf.stop()
        await direct.stop()
        await hole.close()
