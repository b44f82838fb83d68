"""In-process figures: each ASGI app driven directly by an in-memory receive/send pair.

The pair is the cheapest one that works for every contender: `receive` hands out
prebuilt events from an iterator, `send` appends to a list (dispatch) or bumps a
counter (broadcast). Both are identical for all contenders, so their cost is a
constant added to every figure, and ratios stay honest.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import statistics
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from bench import workload

CONNECT = {"type": "websocket.connect"}
DISCONNECT = {"type": "websocket.disconnect", "code": 1000}
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"connection", b"Upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
]


def ws_scope(path: str, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": HEADERS,
        "subprotocols": [],
        "state": dict(state),
    }


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    """Run the app's ASGI lifespan around the block; yield its state."""
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), 10)
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"lifespan startup failed: {started}")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(outbox.get(), 10)
        await asyncio.wait_for(task, 10)


def message_events(count: int) -> list[dict[str, Any]]:
    """`count` receive events cycling over the workload's requests."""
    events = [{"type": "websocket.receive", "text": text} for text in workload.REQUESTS]
    return [events[i % len(events)] for i in range(count)]


async def serve_once(
    app: Any, state: dict[str, Any], events: list[dict[str, Any]], profiler: Any = None
) -> tuple[float, list[Any]]:
    """One connection: connect, `events`, disconnect. Return (CPU seconds, events sent)."""
    sink: list[Any] = []
    append = sink.append
    it = iter([CONNECT, *events])
    want = len(events) + 1  # the accept, then one reply per message

    async def receive() -> dict[str, Any]:
        event = next(it, None)
        if event is not None:
            return event
        # NOTE: a real client closes once it has its replies. Falcon reads ahead
        # (its buffered receiver) and drops what it buffered on a disconnect, so
        # the disconnect waits until every reply is out.
        for _ in range(10_000):
            if len(sink) >= want:
                break
            await asyncio.sleep(0)
        return DISCONNECT

    async def send(event: dict[str, Any]) -> None:
        append(event)

    scope = ws_scope("/ws", state)
    gc.collect()
    if profiler is not None:
        profiler.enable()
    start = time.process_time()
    await app(scope, receive, send)
    cpu = time.process_time() - start
    if profiler is not None:
        profiler.disable()
    return cpu, sink


def _texts(sent: list[Any]) -> list[str]:
    return [
        e.get("text") or e.get("bytes", b"").decode() for e in sent if e["type"] == "websocket.send"
    ]


async def _check_replies(name: str, app: Any, state: dict[str, Any]) -> list[str]:
    _, sent = await serve_once(app, state, message_events(len(workload.REQUESTS)))
    problems = []
    texts = _texts(sent)
    if texts != workload.EXPECTED:
        for i, (got, want) in enumerate(zip(texts, workload.EXPECTED, strict=False)):
            if got != want:
                problems.append(f"{name}: reply {i}: got {got!r}, want {want!r}")
                break
        if len(texts) != len(workload.EXPECTED):
            problems.append(f"{name}: {len(texts)} replies for {len(workload.EXPECTED)} requests")
    return problems


async def dispatch(
    factories: dict[str, Callable[[], Any]], *, messages: int, repeats: int
) -> tuple[dict[str, float], dict[str, list[float]], list[str]]:
    """CPU µs per message of every contender: median of `repeats`, interleaved.

    Returns (median µs/msg, all samples, sanity-check problems).
    """
    events = message_events(messages)
    apps = {name: make() for name, make in factories.items()}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    problems: list[str] = []
    async with _all_lifespans(apps) as states:
        for name, app in apps.items():
            problems += await _check_replies(name, app, states[name])
            await serve_once(app, states[name], events[: messages // 4])  # warm up
        # NOTE: round-robin, so drift on a shared machine hits every contender alike.
        for _ in range(repeats):
            for name, app in apps.items():
                cpu, sent = await serve_once(app, states[name], events)
                replies = sum(1 for e in sent if e["type"] == "websocket.send")
                if replies != messages:
                    problems.append(f"{name}: {replies} replies for {messages} messages")
                samples[name].append(cpu / messages * 1e6)
    return {name: statistics.median(s) for name, s in samples.items()}, samples, problems


@asynccontextmanager
async def _all_lifespans(apps: dict[str, Any]) -> AsyncIterator[dict[str, dict[str, Any]]]:
    states: dict[str, dict[str, Any]] = {}
    managers = []
    try:
        for name, app in apps.items():
            manager = lifespan(app)
            states[name] = await manager.__aenter__()
            managers.append(manager)
        yield states
    finally:
        for manager in reversed(managers):
            await manager.__aexit__(None, None, None)


# -- broadcast ----------------------------------------------------------------------


class Peer:
    """A fake member: connects, then waits until fed."""

    __slots__ = ("inbox", "waiter")

    def __init__(self) -> None:
        self.inbox: deque[dict[str, Any]] = deque([CONNECT])
        self.waiter: asyncio.Future[None] | None = None

    async def receive(self) -> dict[str, Any]:
        while not self.inbox:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return self.inbox.popleft()

    def feed(self, event: dict[str, Any]) -> None:
        self.inbox.append(event)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Tally:
    """The send side shared by every member: counts frames, wakes the timer at `target`."""

    def __init__(self, keep: bool = False) -> None:
        self.accepted = 0
        self.count = 0
        self.target = 0
        self.keep = keep
        self.texts: list[str] = []
        self.done = asyncio.Event()

    def reset(self, target: int) -> None:
        self.count = 0
        self.target = target
        self.done = asyncio.Event()

    async def send(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "websocket.send":
            self.count += 1
            if self.keep:
                self.texts.append(event.get("text") or event["bytes"].decode())
            if self.count == self.target:
                self.done.set()
        elif kind == "websocket.accept":
            self.accepted += 1


async def broadcast(
    make: Callable[[], Any], members: int, rounds: int, keep: bool = False, profiler: Any = None
) -> tuple[list[float], list[str]]:
    """CPU µs per recipient of one broadcast to `members` in-process members, per round.

    Member 0 sends the `fanout` frame; every member, member 0 included, receives it.
    The first round (writer tasks, caches) is a warm-up and not returned.
    """
    app = make()
    tally = Tally(keep)
    async with lifespan(app) as state:
        peers = [Peer() for _ in range(members)]
        tasks = [
            asyncio.create_task(app(ws_scope("/room", state), p.receive, tally.send)) for p in peers
        ]
        deadline = time.monotonic() + 60
        while tally.accepted < members:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {tally.accepted} of {members} members accepted")
            await asyncio.sleep(0.001)
        for _ in range(10):  # joins that follow the accept
            await asyncio.sleep(0)
        samples = []
        # NOTE: as timeit does, no collector pass inside the rounds: one before them, then
        # none (a full collection before each round left every round with cold caches).
        gc.collect()
        gc.disable()
        try:
            for seq in range(rounds + 1):
                tally.reset(members)
                event = {"type": "websocket.receive", "text": workload.fanout_request(seq)}
                if profiler is not None and seq:
                    profiler.enable()
                start = time.process_time()
                peers[0].feed(event)
                await asyncio.wait_for(tally.done.wait(), 60)
                cpu = time.process_time() - start
                if profiler is not None and seq:
                    profiler.disable()
                if seq:
                    samples.append(cpu / members * 1e6)
        finally:
            gc.enable()
        for peer in peers:
            peer.feed(DISCONNECT)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 120)
    return samples, tally.texts


async def check_broadcast(factories: dict[str, Callable[[], Any]]) -> list[str]:
    """Every contender sends the same broadcast bytes to every member."""
    problems = []
    want = [workload.news_text(workload.Fanout(seq, f"broadcast {seq}")) for seq in (0, 1)]
    for name, make in factories.items():
        _, texts = await broadcast(make, 3, 1, keep=True)
        expected = [want[0]] * 3 + [want[1]] * 3
        if texts != expected:
            problems.append(f"{name}: broadcast sent {texts!r}, want {expected!r}")
    return problems


PROCESSES = 3  # fresh processes per contender and room size (in-process broadcast)


async def broadcasts(
    factories: dict[str, Callable[[], Any]], sizes: tuple[int, ...], rounds: int
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, list[float]]]]:
    """Median CPU µs per recipient, by room size and contender.

    Each (contender, size) runs in `PROCESSES` fresh processes, their samples pooled:
    thousands of members leave a heap behind whose layout taxes whoever runs next in
    the same process (measured: pachinko's fan-out to 5,000 cost 0.23 µs/recipient
    first, 0.43 after Litestar's), and one process's layout alone moves a median by
    up to a quarter.
    """
    medians: dict[int, dict[str, float]] = {}
    samples: dict[int, dict[str, list[float]]] = {}
    spawn = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn, max_tasks_per_child=1) as pool:
        for size in sizes:
            medians[size], samples[size] = {}, {}
            for name, make in factories.items():
                got: list[float] = []
                for _ in range(PROCESSES):
                    got += await loop.run_in_executor(pool, _broadcast_samples, make, size, rounds)
                samples[size][name] = got
                medians[size][name] = statistics.median(got)
    return medians, samples


def _broadcast_samples(make: Callable[[], Any], members: int, rounds: int) -> list[float]:
    """`broadcast` in this (fresh) process: its samples."""
    return asyncio.run(broadcast(make, members, rounds))[0]
