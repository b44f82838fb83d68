"""The Redis figures: what the Redis backend adds over the in-process (memory) one.

Method: a throwaway `redis-server` on loopback (or `$PACHINKO_BENCH_REDIS_URL`),
and managers with real `Connection`s whose socket write is a no-op, so only
pachinko and Redis are measured (no websocket clients). "Two processes" are two
managers, each with its own `RedisBackend` (own pool, own inbox subscription),
in this Python process; members are split 50/50 over them. Memory and Redis
rounds are interleaved; each figure is a median (latencies: p50/p99).

- latency: trigger (`await broadcast()` starts) -> last member's write;
- publish CPU: process CPU per `broadcast()` to a room whose one member is on
  the other manager (encode + script call; Redis's own time excluded);
- receive CPU: the inbox handler run on recorded messages, per broadcast (1
  member) and per recipient (1000), against the memory backend's delivery;
- throughput: broadcasts/s, 16 in flight (the pool size), to 100 members over
  the two managers, every member receiving every broadcast (no loss);
- join: `join` p50/p99 into a room with 50 broadcasts of history.

`python -m bench.redis` prints the figures; `bench.run` includes them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from importlib.metadata import entry_points
from typing import Any

ROUNDS = 5


def plugin_present() -> bool:
    return any(ep.name == "redis" for ep in entry_points(group="pachinko.backends"))


def _start_redis() -> tuple[str, subprocess.Popen[bytes] | None]:
    url = os.environ.get("PACHINKO_BENCH_REDIS_URL")
    if url:
        return url, None
    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tempfile.mkdtemp()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client, deadline = redis.Redis(port=port), time.monotonic() + 10
    while True:  # NOTE: a starting server tells readiness only by answering
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.02)
    client.close()
    return f"redis://127.0.0.1:{port}/0", process


class Members:
    """Connections whose writes are no-ops that count and time the last one."""

    def __init__(self) -> None:
        self.count = 0
        self.expected = 0
        self.last = 0.0
        self.done = asyncio.Event()

    def reset(self, expected: int) -> None:
        self.count, self.expected, self.last = 0, expected, 0.0
        self.done.clear()

    async def send(self, event: dict[str, Any]) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.last = time.perf_counter()
            self.done.set()

    def add(self, manager: Any, name: str) -> Any:
        from pachinko.runtime.connection import Connection
        from pachinko.runtime.frames import nested_frame
        from pachinko.runtime.outbox import Outbox

        outbox = Outbox(self.send, manager.codecs["json"], nested_frame, limit=100_000)
        conn = Connection(name, manager=manager, outbox=outbox)
        manager.register(conn)
        return conn


async def _managers(url: str, prefix: str, rooms: list[Any], count: int = 2) -> list[Any]:
    from pachinko_redis import RedisBackend, RedisConfig

    from pachinko import WebSocketConnectionManager

    managers = []
    for _ in range(count):
        backend = RedisBackend(RedisConfig(url=url, prefix=prefix))
        manager = WebSocketConnectionManager(backend, rooms=rooms)
        await manager.start()
        managers.append(manager)
    return managers


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latency(managers: list[Any], members: Members, size: int, shots: int) -> list[float]:
    room = f"lat:{size}:{len(managers)}"
    conns = [members.add(managers[n % len(managers)], f"{room}:{n}") for n in range(size)]
    for conn in conns:
        await conn.join(room)
    samples = []
    for shot in range(shots):
        members.reset(size)
        started = time.perf_counter()
        await managers[0].broadcast(room, "tick", {"n": shot, "text": "x" * 64})
        await asyncio.wait_for(members.done.wait(), 10)
        samples.append((members.last - started) * 1000)
    for conn in conns:
        await conn.manager.unregister(conn)
    return samples


async def _publish_cpu(managers: list[Any], count: int) -> float:
    members = Members()
    far = members.add(managers[1], "far")
    await far.join("cpu:pub")
    members.reset(count)
    started = time.process_time()
    for n in range(count):
        await managers[0].broadcast("cpu:pub", "tick", {"n": n})
    spent = time.process_time() - started
    await asyncio.wait_for(members.done.wait(), 30)
    await managers[1].unregister(far)
    return spent / count * 1e6


async def _receive_cpu(url: str, prefix: str, size: int, count: int) -> tuple[float, float]:
    """(redis inbox handler, memory delivery) CPU µs per broadcast for `size` members."""
    from pachinko_redis.link import body

    from pachinko import WebSocketConnectionManager
    from pachinko.backends.base import Frames, Position

    (manager,) = await _managers(url, prefix + "r", [], count=1)
    memory = WebSocketConnectionManager()
    await memory.start()
    members = Members()
    for target in (manager, memory):
        for n in range(size):
            await members.add(target, f"{id(target)}:{n}").join("rx")
    link = manager.backend.link
    frames = Frames({"type": "tick", "payload": {"n": 1, "text": "x" * 64}}, manager.codecs)
    epoch = link.seen["rx"].epoch
    messages = [
        b"b%d %s " % (link.seen["rx"].offset + 1 + n, epoch.encode()) + body("rx", (), frames)
        for n in range(count)
    ]
    members.reset(10**9)
    started = time.process_time()
    for message in messages:
        await link._handle(message)
    redis_cpu = (time.process_time() - started) / count * 1e6
    started = time.process_time()
    for _ in range(count):
        manager_frames = Frames(frames.frame, memory.codecs)
        memory.deliver("rx", Position("m", 1), manager_frames, frozenset())
    memory_cpu = (time.process_time() - started) / count * 1e6
    await manager.stop()
    return redis_cpu, memory_cpu


async def _throughput(managers: list[Any], seconds: float) -> float:
    members = Members()
    conns = [members.add(managers[n % 2], f"tp:{n}") for n in range(100)]
    for conn in conns:
        await conn.join("tp")
    sent = 0
    stop = time.perf_counter() + seconds
    members.reset(10**12)

    async def pump() -> None:
        nonlocal sent
        while time.perf_counter() < stop:
            await managers[sent % 2].broadcast("tp", "tick", sent)
            sent += 1

    started = time.perf_counter()
    await asyncio.gather(*(pump() for _ in range(16)))
    members.expected = sent * 100
    if members.count < members.expected:
        members.done.clear()
        await asyncio.wait_for(members.done.wait(), 30)
    elapsed = time.perf_counter() - started
    assert members.count == sent * 100, "lost broadcasts"
    for conn in conns:
        await conn.manager.unregister(conn)
    return sent / elapsed


async def _joins(managers: list[Any], count: int) -> list[float]:
    members = Members()
    for n in range(50):
        await managers[0].broadcast("hist:j", "tick", {"n": n, "text": "x" * 64})
    samples = []
    for n in range(count):
        conn = members.add(managers[n % 2], f"j:{n}")
        started = time.perf_counter()
        await conn.join("hist:j")
        samples.append((time.perf_counter() - started) * 1000)
        await managers[n % 2].unregister(conn)
    return samples


async def _run(url: str) -> dict[str, Any]:
    from pachinko import RoomOptions, WebSocketConnectionManager

    rooms = [RoomOptions("hist:{x}", history=50)]
    prefix = f"bench{os.getpid()}"
    managers = await _managers(url, prefix, rooms)
    memory = WebSocketConnectionManager(rooms=rooms)
    await memory.start()
    figures: dict[str, Any] = {}
    try:
        for size in (100, 1000):
            redis_ms: list[float] = []
            memory_ms: list[float] = []
            for _ in range(ROUNDS):  # NOTE: interleaved rounds
                memory_ms += await _latency([memory], Members(), size, 20)
                redis_ms += await _latency(managers, Members(), size, 20)
            figures[f"broadcast {size}, memory 1 process, p50/p99 ms"] = (
                round(_pct(memory_ms, 0.5), 3),
                round(_pct(memory_ms, 0.99), 3),
            )
            figures[f"broadcast {size}, redis 2 processes, p50/p99 ms"] = (
                round(_pct(redis_ms, 0.5), 3),
                round(_pct(redis_ms, 0.99), 3),
            )
            figures[f"broadcast {size}, added p50 ms"] = round(
                _pct(redis_ms, 0.5) - _pct(memory_ms, 0.5), 3)  # fmt: skip
        receive = [await _receive_cpu(url, f"{prefix}{n}", 1000, 300) for n in range(ROUNDS)]
        idle = [await _receive_cpu(url, f"{prefix}i{n}", 1, 2000) for n in range(ROUNDS)]
        redis_rx = statistics.median(r for r, _ in receive)
        memory_rx = statistics.median(m for _, m in receive)
        per_broadcast = statistics.median(r for r, _ in idle)
        figures["receive CPU µs per broadcast (decode, 1 member)"] = round(per_broadcast, 2)
        figures["receive CPU µs per recipient, redis / memory"] = (
            round((redis_rx - per_broadcast) / 1000, 3),
            round(memory_rx / 1000, 3),
        )
        publish = statistics.median([await _publish_cpu(managers, 2000) for _ in range(ROUNDS)])
        figures["publish CPU µs per broadcast (sender + far receiver)"] = round(publish, 1)
        figures["publish CPU µs per broadcast (sender only)"] = round(publish - per_broadcast, 1)
        figures["sustained broadcasts/s to 100 members over 2, no loss"] = round(
            statistics.median([await _throughput(managers, 3.0) for _ in range(3)]))  # fmt: skip
        joins = await _joins(managers, 300)
        figures["join with history 50, p50/p99 ms"] = (
            round(_pct(joins, 0.5), 3), round(_pct(joins, 0.99), 3))  # fmt: skip
    finally:
        for manager in (*managers, memory):
            await manager.stop()
    return figures


def measure(log: Any) -> tuple[dict[str, Any] | None, str]:
    """Return (figures, note); figures is None when there is nothing to measure."""
    if not plugin_present():
        return None, "n/a (plugin not present)"
    url, process = _start_redis()
    try:
        return asyncio.run(_run(url)), "loopback redis-server, in-process managers"
    finally:
        if process is not None:
            process.kill()
            process.wait()


if __name__ == "__main__":
    found, note = measure(print)
    print(note)
    for key, value in (found or {}).items():
        print(f"{key}: {value}")
