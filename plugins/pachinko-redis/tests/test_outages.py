"""Faults with real processes: killed subscriptions, Redis restarts and pauses, SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from time import monotonic

import pytest
import redis
from cluster_harness import Client, Serve, start_cluster, write_app
from redis_harness import RedisServer


@pytest.fixture
def pair(own_redis: RedisServer, tmp_path: Path) -> Iterator[list[Serve]]:
    # NOTE: a catch-up window (recovery) wide enough for the traffic of a reconnect
    servers = start_cluster(write_app(tmp_path, own_redis.url, "fault", recovery=5000), 2)
    yield servers
    for server in servers:
        server.stop()


def admin(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, protocol=2, socket_timeout=5)


async def say_until_accepted(client: Client, room: str, n: object, within: float = 10.0) -> None:
    """Publish, retrying `backend_unavailable` answers until the backend is back."""
    deadline = monotonic() + within
    while True:
        reply = await client.call("say", {"room": room, "n": n})
        if reply["type"] != "error":
            return
        assert reply["payload"]["code"] == "backend_unavailable"
        assert monotonic() < deadline, "the backend did not come back"


async def resubscribed(server: RedisServer, prefix: str, count: int) -> None:
    """Wait until `count` inboxes are subscribed (polled: Redis tells no one)."""
    control = admin(server)
    deadline = monotonic() + 10
    while len(control.pubsub_channels(f"{prefix}:n:*")) < count:
        assert monotonic() < deadline, "a process did not resubscribe"
        await asyncio.sleep(0.02)
    control.close()


async def test_killing_the_subscriptions_mid_traffic_loses_nothing(
    pair: list[Serve], own_redis: RedisServer
) -> None:
    members = [await Client.open(pair[n % 2].url + "/ws") for n in range(4)]
    for member in members:
        await member.call("join", {"room": "busy:kill"})
    publisher = await Client.open(pair[0].url + "/ws")
    stop = asyncio.Event()
    count = 0

    async def publish() -> None:
        nonlocal count
        while not stop.is_set():
            await say_until_accepted(publisher, "busy:kill", count)
            count += 1

    traffic = asyncio.ensure_future(publish())
    for _ in range(3):
        await members[0].wait(lambda c=count: len(members[0].of("said")) >= c + 50)
        control = admin(own_redis)
        assert control.client_kill_filter(_type="pubsub") == 2
        control.close()
        await resubscribed(own_redis, "fault", 2)
    await members[1].wait(lambda c=count: len(members[1].of("said")) >= c + 50)
    stop.set()
    await traffic
    for member in members:
        await member.wait(lambda m=member: len(m.of("said")) >= count)
        assert [p["n"] for p in member.of("said")] == list(range(count))
        assert member.of("room.resync") == []
    for client in [*members, publisher]:
        await client.close()


async def test_redis_restarted_without_persistence_resyncs_and_resumes(
    pair: list[Serve], own_redis: RedisServer
) -> None:
    a = await Client.open(pair[0].url + "/ws")
    b = await Client.open(pair[1].url + "/ws")
    for client in (a, b):
        await client.call("join", {"room": "busy:lost"})
    await a.call("say", {"room": "busy:lost", "n": 0})
    await b.wait(lambda: b.of("said"))
    started = monotonic()
    own_redis.restart()
    for client in (a, b):
        await client.wait(lambda c=client: c.of("room.resync"), timeout=10)
        assert client.of("room.resync") == [{"room": "busy:lost", "reason": "reset"}]
    await say_until_accepted(a, "busy:lost", 1)
    await b.wait(lambda: [p["n"] for p in b.of("said")] == [0, 1])
    assert monotonic() - started < 10
    members = (await b.call("members", {"room": "busy:lost"}))["payload"]
    assert len(members) == 2  # rebuilt from each process's own members
    await resubscribed(own_redis, "fault", 2)  # no deaf process
    for client in (a, b):
        await client.close()


async def test_redis_restarted_with_aof_keeps_order_and_history(
    tmp_path: Path,
) -> None:
    with RedisServer(tmp_path, persistent=True) as server:
        servers = start_cluster(write_app(tmp_path, server.url, "aof"), 2)
        try:
            a = await Client.open(servers[0].url + "/ws")
            b = await Client.open(servers[1].url + "/ws")
            for client in (a, b):
                await client.call("join", {"room": "busy:aof"})
            for n in range(5):
                await a.call("say", {"room": "busy:aof", "n": n})
            server.restart()
            for n in range(5, 10):
                await say_until_accepted(a, "busy:aof", n)
            await b.wait(lambda: len(b.of("said")) == 10)
            assert [p["n"] for p in b.of("said")] == list(range(10))
            assert b.of("room.resync") == []
            late = await Client.open(servers[1].url + "/ws")
            await late.call("join", {"room": "busy:aof"})
            assert [p["n"] for p in late.of("said")] == list(range(10))  # history survived
            for client in (a, b, late):
                await client.close()
        finally:
            for serve in servers:
                serve.stop()


async def test_a_paused_redis_is_backend_unavailable_in_bounded_time(
    pair: list[Serve], own_redis: RedisServer
) -> None:
    a = await Client.open(pair[0].url + "/ws")
    b = await Client.open(pair[1].url + "/ws")
    for client in (a, b):
        await client.call("join", {"room": "busy:pause"})
    control = admin(own_redis)
    control.execute_command("CLIENT", "PAUSE", 3000, "ALL")
    started = monotonic()
    reply = await a.call("say", {"room": "busy:pause", "n": 0})
    assert reply["payload"]["code"] == "backend_unavailable"
    assert monotonic() - started < 1.0 + 0.8  # op_timeout = 1s, plus scheduling slack
    await say_until_accepted(a, "busy:pause", 1)
    await b.wait(lambda: [p["n"] for p in b.of("said")][-1:] == [1])
    control.close()
    for client in (a, b):
        await client.close()


async def test_a_sigkilled_process_members_leave_within_presence_ttl(
    pair: list[Serve],
) -> None:
    watcher = await Client.open(pair[0].url + "/chat/crash")
    doomed = [await Client.open(pair[1].url + "/chat/crash") for _ in range(5)]
    ids = {(await d.call("whoami"))["payload"] for d in doomed}
    await watcher.wait(lambda: len(watcher.of("presence.join")) == 5)
    started = monotonic()
    pair[1].kill()
    await watcher.wait(lambda: len(watcher.of("presence.leave")) == 5, timeout=5)
    assert monotonic() - started <= 1.5 + 0.5  # presence_ttl = 1.5s, plus slack
    assert {p["connection"] for p in watcher.of("presence.leave")} == ids
    members = (await watcher.call("members", {"room": "chat:crash"}))["payload"]
    assert members == [(await watcher.call("whoami"))["payload"]]
    for client in [watcher, *doomed]:
        await client.close()


async def test_a_process_reaped_while_frozen_comes_back_with_its_members(
    pair: list[Serve],
) -> None:
    watcher = await Client.open(pair[0].url + "/chat/frozen")
    sleeper = await Client.open(pair[1].url + "/chat/frozen")
    await watcher.wait(lambda: len(watcher.of("presence.join")) == 1)
    os.killpg(pair[1].pid, signal.SIGSTOP)  # longer than its lease: the others reap it
    try:
        await watcher.wait(lambda: len(watcher.of("presence.leave")) == 1, timeout=5)
    finally:
        os.killpg(pair[1].pid, signal.SIGCONT)
    await watcher.wait(lambda: len(watcher.of("presence.join")) == 2, timeout=5)
    assert watcher.of("presence.join")[1]["connection"] == sleeper.id
    members = (await watcher.call("members", {"room": "chat:frozen"}))["payload"]
    assert members == sorted([watcher.id, sleeper.id])
    await watcher.call("say", {"room": "chat:frozen", "n": 1})
    await sleeper.wait(lambda: sleeper.of("said") == [{"room": "chat:frozen", "n": 1}])
    for client in (watcher, sleeper):
        await client.close()
