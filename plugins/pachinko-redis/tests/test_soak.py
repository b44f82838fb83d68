"""Long runs and lost windows: RSS stays flat over 100k broadcasts; a lost window is a resync."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import redis
from cluster_harness import Client, start_cluster, write_app
from pachinko_redis import RedisBackend, RedisConfig
from pachinko_redis.link import body
from redis_harness import RedisServer

from pachinko.backends.base import Frames, Position
from pachinko.codecs.builtin import JsonCodec, MsgpackCodec

CODECS = {codec.name: codec for codec in (JsonCodec(), MsgpackCodec())}


def frame(number: int) -> Frames:
    return Frames({"type": "m", "payload": number}, CODECS)


class Quiet:
    """A sink for a publishing-only backend."""

    def deliver(
        self, room: str, position: Position | None, frames: Frames, exclude: object
    ) -> None:
        pass

    def deliver_direct(self, connection_ids: tuple[str, ...], frames: Frames) -> int:
        return 0

    def resync(self, room: str, reason: str) -> None:
        pass

    def presence(self, room: str, kind: str, connection_id: str, user: object) -> None:
        return None


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError("no VmRSS")


async def test_a_subscriber_rss_stays_flat_over_100k_broadcasts(
    redis_server: RedisServer, tmp_path: Path, prefix: str
) -> None:
    (server,) = start_cluster(write_app(tmp_path, redis_server.url, prefix), 1)
    publisher = RedisBackend(RedisConfig(url=redis_server.url, prefix=prefix))
    await publisher.start(Quiet())
    inbox = publisher.inbox_prefix
    try:
        member = await Client.open(server.url + "/ws")
        await member.call("join", {"room": "free:soak"})

        # NOTE: the publish script, pipelined 1,000 at a time: the subscriber is under test.
        await publisher.publish("free:soak", frame(-1), frozenset(), history=0, history_ttl=60)
        # NOTE: in before the first burst clears the inbox, or it would count as one of them.
        await member.wait(lambda: any(f.get("payload") == -1 for f in member.frames), timeout=10)
        sha = publisher.lua["PUBLISH"].sha
        m, n, s, h = publisher.room_keys("free:soak")

        async def burst(start: int, count: int) -> None:
            member.frames.clear()
            for base in range(start, start + count, 1000):
                pipe = publisher.client.pipeline(transaction=False)
                for number in range(base, base + 1000):
                    message = body("free:soak", (), frame(number))
                    pipe.evalsha(sha, 4, s, h, n, m, message, 0, 0, 1000, "e", inbox, 60_000)
                await pipe.execute()
            await member.wait(lambda: len(member.frames) >= count, timeout=25)
            assert member.frames[-1]["payload"] == start + count - 1

        await burst(0, 20_000)  # warm-up: buffers and caches reach their size
        before = rss(server.pid)
        await burst(20_000, 80_000)
        grown = rss(server.pid) - before
        assert grown < 2 * 1024 * 1024, f"subscriber RSS grew {grown} bytes over 80k broadcasts"
        await member.close()
    finally:
        await publisher.stop()
        server.stop()


async def test_a_window_beyond_recovery_is_a_resync_never_a_silent_gap(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    """Redis drops a stalled subscriber (output buffer limit); nothing kept to catch up from."""
    manifest = write_app(tmp_path, own_redis.url, "lost", recovery=0, presence_ttl="10s")
    servers = start_cluster(manifest, 2)
    control = redis.Redis.from_url(own_redis.url, protocol=2)
    try:
        a = await Client.open(servers[0].url + "/ws")
        b = await Client.open(servers[1].url + "/ws")
        for client in (a, b):
            await client.call("join", {"room": "free:lost"})
        await a.call("say", {"room": "free:lost", "n": -1})
        await b.wait(lambda: b.of("said"))
        control.config_set("client-output-buffer-limit", "pubsub 256kb 128kb 1")
        os.killpg(servers[1].pid, signal.SIGSTOP)
        try:
            pad = "x" * 20_000
            for number in range(500):  # 10 MB: beyond the socket buffers and the limit
                await a.call("say", {"room": "free:lost", "n": number, "pad": pad})
        finally:
            os.killpg(servers[1].pid, signal.SIGCONT)
        await b.wait(lambda: b.of("room.resync"), timeout=15)
        assert b.of("room.resync") == [{"room": "free:lost", "reason": "gap"}]
        await a.call("say", {"room": "free:lost", "n": 500})
        await b.wait(lambda: b.of("said")[-1]["n"] == 500)
        numbers = [p["n"] for p in b.of("said")]
        assert numbers == sorted(set(numbers)), "out of order or twice"
        assert a.of("room.resync") == []
        for client in (a, b):
            await client.close()
    finally:
        control.close()
        for server in servers:
            server.stop()
