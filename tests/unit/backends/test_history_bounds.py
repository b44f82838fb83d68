"""History is bounded: `history_ttl` for empty rooms, `max_history_bytes` per process (LRU)."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from pachinko import Limits, RoomOptions, WebSocketConnectionManager, WebSocketRouter
from pachinko.backends.history import HistoryStore
from pachinko.backends.memory import MemoryBackend
from pachinko.codecs import JsonCodec
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import nested_frame
from pachinko.runtime.outbox import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def entry(text: str) -> dict[str, bytes]:
    return {"json": text.encode()}


def test_an_empty_rooms_history_goes_after_its_ttl() -> None:
    clock = Clock()
    store = HistoryStore(1 << 20, clock)
    store.add("r", 1, entry("a"), 10)
    store.emptied("r", 600)
    clock.now = 599
    assert [offset for offset, _ in store.last("r", 10)] == [1]
    clock.now = 600
    assert store.last("r", 10) == []
    assert store.size == 0


def test_a_room_joined_again_keeps_its_history() -> None:
    clock = Clock()
    store = HistoryStore(1 << 20, clock)
    store.add("r", 1, entry("a"), 10)
    store.emptied("r", 10)
    store.occupied("r")
    clock.now = 11
    assert len(store.last("r", 10)) == 1


def test_beyond_the_budget_the_least_recently_used_room_goes_first() -> None:
    store = HistoryStore(3 * (1000 + 200 + 100))
    for room in "abc":
        store.add(room, 1, entry("x" * 100), 10)
    store.last("a", 1)  # "a" used: "b" is now the least recently used
    store.add("d", 1, entry("x" * 100), 10)
    assert "b" not in store
    assert all(room in store for room in "acd")
    assert store.size <= store.budget


async def test_broadcasts_to_rooms_nobody_joined_keep_history_only_within_the_budget() -> None:
    backend = MemoryBackend()
    manager = WebSocketConnectionManager(backend, rooms=[RoomOptions("r:{n}", history=50)])
    manager.max_history_bytes = 64 * 1024
    await manager.start()
    for n in range(2000):
        await manager.broadcast(f"r:{n}", "m", "x" * 500)
    assert backend.history.size <= 64 * 1024
    assert len(backend.history) < 2000
    assert len(backend._positions) == len(backend.history)  # nothing else kept per room


def connection(manager: WebSocketConnectionManager, name: str) -> Connection:
    async def discard(event: dict[str, Any]) -> None:
        pass

    conn = Connection(name, manager=manager, outbox=Outbox(discard, JsonCodec(), nested_frame))
    manager.register(conn)
    return conn


async def test_twenty_thousand_short_lived_rooms_stay_within_the_budget() -> None:
    """Issue 9's probe: 20,000 distinct rooms with history, traced memory bounded."""
    budget = 2 * 1024 * 1024
    router = WebSocketRouter(
        WebSocketConnectionManager(rooms=[RoomOptions("room:{n}", history=20)]),
        limits=Limits(max_history_bytes=budget),
    )
    manager = router.manager
    await manager.start()
    conn = connection(manager, "c")
    payload = "x" * 1000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            room = f"room:{n}"
            await conn.join(room)
            await manager.broadcast(room, "m", payload)
            await conn.leave(room)
            await manager.broadcast(f"room:never-{n}", "m", payload)
        await conn.outbox.wait_sent()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Unbounded this is ~200 MB (40,000 rooms x 2 codecs x ~1.6 KB). Beyond
    # the budget: fixed bounds (the room-name cache keeps at most 10,000 names).
    assert grown < budget + 1_500_000, grown
