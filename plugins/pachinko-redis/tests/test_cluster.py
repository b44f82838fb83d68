"""Three real `pachinko serve` processes on one Redis: one set of rooms, one order per room."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_harness import Client, Serve, start_cluster, write_app
from redis_harness import RedisServer


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Serve]]:
    manifest = write_app(tmp_path_factory.mktemp("cluster"), redis_server.url, "cluster")
    servers = start_cluster(manifest, 3)
    yield servers
    for server in servers:
        server.stop()


async def test_one_client_on_each_process_chats_in_one_room(cluster: list[Serve]) -> None:
    a = await Client.open(cluster[0].url + "/chat/lobby")
    b = await Client.open(cluster[1].url + "/chat/lobby")
    await a.wait(lambda: a.of("presence.join"))  # b joined after a: a hears of it
    assert (await a.call("say", {"room": "chat:lobby", "text": "hi"}))["payload"] == "ok"
    await b.wait(lambda: b.of("said"))
    assert b.of("said") == [{"room": "chat:lobby", "text": "hi"}]
    await a.wait(lambda: a.of("said"))
    await b.close()
    await a.wait(lambda: a.of("presence.leave"))
    await a.close()


async def test_presence_and_history_cross_processes(cluster: list[Serve]) -> None:
    a = await Client.open(cluster[0].url + "/ws")
    await a.call("login", {"user": "ann"})
    await a.call("join", {"room": "chat:h"})
    for n in range(25):
        await a.call("say", {"room": "chat:h", "n": n})
    b = await Client.open(cluster[1].url + "/ws")
    b_id = (await b.call("whoami"))["payload"]
    await b.call("join", {"room": "chat:h"})
    # history (the last 20) came before the join's reply; nothing of b's own presence
    assert [p["n"] for p in b.of("said")] == list(range(5, 25))
    assert b.of("presence.join") == []
    await a.wait(lambda: a.of("presence.join"))
    assert a.of("presence.join") == [{"room": "chat:h", "connection": b_id, "user": None}]
    members = (await b.call("members", {"room": "chat:h"}))["payload"]
    assert members == sorted([(await a.call("whoami"))["payload"], b_id])
    await a.close()
    await b.wait(lambda: b.of("presence.leave"))
    assert b.of("presence.leave")[0]["user"] == "ann"
    await b.close()


async def test_send_to_and_send_to_user_cross_processes(cluster: list[Serve]) -> None:
    a, b, c = [await Client.open(server.url + "/ws") for server in cluster]
    c_id = (await c.call("whoami"))["payload"]
    assert (await a.call("dm", {"to": c_id, "n": 1}))["payload"] is True
    await c.wait(lambda: c.of("dm") == [1])
    for client in (b, c):
        await client.call("login", {"user": "bob"})
    assert (await a.call("to_user", {"user": "bob", "n": 7}))["payload"] == 2
    await b.wait(lambda: b.of("note") == [7])
    await c.wait(lambda: c.of("note") == [7])
    assert a.of("note") == []
    for client in (a, b, c):
        await client.close()


async def test_max_members_is_exact_under_fifty_concurrent_joins(cluster: list[Serve]) -> None:
    clients = [await Client.open(cluster[n % 2].url + "/ws") for n in range(50)]
    replies = await asyncio.gather(*(c.call("join", {"room": "capped"}) for c in clients))
    codes = [r["payload"]["code"] if r["type"] == "error" else "joined" for r in replies]
    assert codes.count("joined") == 10
    assert codes.count("room_full") == 40
    members = (await clients[0].call("members", {"room": "capped"}))["payload"]
    assert len(members) == 10
    await asyncio.gather(*(c.close() for c in clients))


async def test_every_member_on_every_process_sees_one_order(cluster: list[Serve]) -> None:
    members = [await Client.open(cluster[n % 3].url + "/ws") for n in range(9)]
    for member in members:
        await member.call("join", {"room": "busy:order"})
    publishers = [await Client.open(server.url + "/ws") for server in cluster]

    async def publish(client: Client, name: str) -> None:
        for n in range(40):
            await client.call("say", {"room": "busy:order", "n": f"{name}{n}"})

    await asyncio.gather(*(publish(p, name) for p, name in zip(publishers, "xyz", strict=True)))
    for member in members:
        await member.wait(lambda m=member: len(m.of("said")) == 120)
    orders = {tuple(p["n"] for p in member.of("said")) for member in members}
    assert len(orders) == 1
    for client in members + publishers:
        await client.close()


async def test_a_joiner_during_heavy_traffic_gets_history_then_live(
    cluster: list[Serve],
) -> None:
    publisher = await Client.open(cluster[0].url + "/ws")
    watcher = await Client.open(cluster[2].url + "/ws")
    await watcher.call("join", {"room": "busy:join"})
    stop = asyncio.Event()
    count = 0

    async def publish() -> None:
        nonlocal count
        while not stop.is_set():
            await publisher.call("say", {"room": "busy:join", "n": count})
            count += 1

    traffic = [asyncio.ensure_future(publish())]
    await watcher.wait(lambda: len(watcher.of("said")) >= 30)
    joiners = [await Client.open(cluster[n % 3].url + "/ws") for n in range(3)]
    await asyncio.gather(*(j.call("join", {"room": "busy:join"}) for j in joiners))
    target = count + 20  # live traffic goes on after the joins
    await watcher.wait(lambda: len(watcher.of("said")) >= target)
    stop.set()
    await asyncio.gather(*traffic)
    for joiner in joiners:
        await joiner.wait(lambda j=joiner: j.of("said") and j.of("said")[-1]["n"] == count - 1)
        seen = [p["n"] for p in joiner.of("said")]
        assert seen == list(range(seen[0], count)), "a gap or a duplicate around the join"
        assert seen[0] <= count - 20
    for client in [publisher, watcher, *joiners]:
        await client.close()


def test_the_redis_backend_is_configured_and_checked(tmp_path: Path) -> None:
    manifest = write_app(tmp_path, "redis://127.0.0.1:1/0", "x", presence_ttl="1ms")
    command = Path(sys.executable).parent / "pachinko"
    checked = subprocess.run(
        [str(command), "check", "-m", str(manifest)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 1
    assert "presence_ttl must be at least 300ms" in checked.stdout + checked.stderr


async def test_workers_2_share_one_set_of_rooms(redis_server: RedisServer, tmp_path: Path) -> None:
    manifest = write_app(tmp_path, redis_server.url, "workers")
    server = Serve(manifest, "--workers", "2", processes=2)
    try:
        server.wait_ready()
        clients: dict[str, Client] = {}
        extra: list[Client] = []
        for _ in range(5):  # concurrent connects: the kernel spreads them over both processes
            opened = await asyncio.gather(
                *(Client.open(server.url + "/chat/one") for _ in range(10))
            )
            for client in opened:
                node = client.id.partition(".")[0]
                if node in clients:
                    extra.append(client)
                else:
                    clients[node] = client
            if len(clients) == 2:
                break
        assert len(clients) == 2, "every connection landed on one process"
        first, second = clients.values()
        await first.call("say", {"room": "chat:one", "text": "across"})
        await second.wait(lambda: second.of("said") == [{"room": "chat:one", "text": "across"}])
        for client in [*clients.values(), *extra]:
            await client.close()
    finally:
        server.stop()
