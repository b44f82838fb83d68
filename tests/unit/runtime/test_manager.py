"""Broadcast semantics: encoded once, never waiting on a slow member, slow members dropped."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pachinko import RoomFull, RoomOptions, WebSocketConnectionManager
from pachinko.codecs import JsonCodec
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import nested_frame
from pachinko.runtime.outbox import Outbox


class CountingCodec(JsonCodec):
    def __init__(self) -> None:
        super().__init__()
        self.encodes = 0
        encode = self.encode

        def counted(value: object) -> bytes:
            self.encodes += 1
            return encode(value)

        self.encode = counted


def member(
    manager: WebSocketConnectionManager,
    codec: JsonCodec,
    name: str,
    send: Any = None,
    send_queue: int = 256,
) -> tuple[Connection, list[Any], list[int]]:
    """A connection whose writes land in a list (or go to `send`)."""
    sent: list[Any] = []
    dropped: list[int] = []

    async def record(event: dict[str, Any]) -> None:
        sent.append(event)

    outbox = Outbox(send or record, codec, nested_frame, limit=send_queue, on_drop=dropped.append)
    conn = Connection(name, manager=manager, outbox=outbox)
    manager.register(conn)
    return conn, sent, dropped


async def test_broadcast_encodes_once_and_shares_the_event() -> None:
    codec = CountingCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    members = [member(manager, codec, f"c{n}") for n in range(50)]
    for conn, _, _ in members:
        await conn.join("room")
    codec.encodes = 0
    await manager.broadcast("room", "tick", {"n": 1})
    for conn, _, _ in members:
        await conn.outbox.wait_sent()
    assert codec.encodes == 1
    events = [sent[-1] for _, sent, _ in members]
    assert all(event is events[0] for event in events)
    assert events[0]["text"] == '{"type":"tick","payload":{"n":1}}'


async def test_broadcast_never_waits_on_a_stuck_member() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    stuck = asyncio.Event()

    async def never_returns(event: dict[str, Any]) -> None:
        await stuck.wait()

    slow, _, _ = member(manager, codec, "slow", send=never_returns)
    fast, fast_sent, _ = member(manager, codec, "fast")
    await slow.join("room")
    await fast.join("room")
    for n in range(3):
        await asyncio.wait_for(manager.broadcast("room", "tick", n), 1.0)
    await asyncio.wait_for(fast.outbox.wait_sent(), 1.0)
    assert [event["text"] for event in fast_sent][-3:] == [
        '{"type":"tick","payload":0}',
        '{"type":"tick","payload":1}',
        '{"type":"tick","payload":2}',
    ]
    stuck.set()
    slow.outbox.stop()


async def test_a_member_whose_queue_overflows_is_dropped_with_1013() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    stuck = asyncio.Event()

    async def never_returns(event: dict[str, Any]) -> None:
        await stuck.wait()

    slow, _, dropped = member(manager, codec, "slow", send=never_returns, send_queue=4)
    fast, fast_sent, fast_dropped = member(manager, codec, "fast", send_queue=4)
    await slow.join("room")
    await fast.join("room")
    for n in range(10):
        await manager.broadcast("room", "tick", n)
        await fast.outbox.wait_sent()
    assert dropped == [1013]
    assert slow.outbox.is_closed
    assert slow.close_code == 1013
    assert fast_dropped == []
    assert len(fast_sent) == 10
    stuck.set()
    slow.outbox.stop()


async def test_frames_to_one_connection_keep_their_order() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    started, gate = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    async def gated(event: dict[str, Any]) -> None:
        started.set()
        await gate.wait()
        sent.append(event["text"])

    conn, _, _ = member(manager, codec, "c", send=gated)
    await conn.join("room")
    first = asyncio.ensure_future(conn.send("direct", 1))  # blocks in the write
    await started.wait()
    await manager.broadcast("room", "queued", 2)
    await manager.send_to("c", "queued", 3)
    gate.set()
    await first
    await conn.outbox.wait_sent()
    assert sent == [
        '{"type":"direct","payload":1}',
        '{"type":"queued","payload":2}',
        '{"type":"queued","payload":3}',
    ]


async def test_members_rooms_and_count() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager(rooms=[RoomOptions("solo", max_members=1)])
    await manager.start()
    a, _, _ = member(manager, codec, "a")
    b, _, _ = member(manager, codec, "b")
    await a.join("solo")
    with pytest.raises(RoomFull):
        await b.join("solo")
    await b.join("other")
    assert await manager.members("solo") == {"a"}
    assert await manager.rooms() == {"solo", "other"}
    assert manager.count() == 2
    assert [c.id async for c in manager.connections("other")] == ["b"]
    await manager.unregister(a)
    assert await manager.members("solo") == set()
    assert manager.count() == 1


async def test_exclude_takes_one_id_or_many() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    conns = {name: member(manager, codec, name) for name in "abc"}
    for conn, _, _ in conns.values():
        await conn.join("r")
    await manager.broadcast("r", "x", exclude="a")
    await manager.broadcast("r", "y", exclude=["a", "b"])
    for conn, _, _ in conns.values():
        await conn.outbox.wait_sent()
    got = {name: [e["text"] for e in sent] for name, (_, sent, _) in conns.items()}
    assert got["a"] == []
    assert got["b"] == ['{"type":"x","payload":null}']
    assert got["c"] == ['{"type":"x","payload":null}', '{"type":"y","payload":null}']


async def test_a_broadcast_write_that_waits_finishes_later_with_the_queue_behind_it() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    gate = asyncio.Event()
    sent: list[str] = []

    async def slow_then_fast(event: dict[str, Any]) -> None:
        if not gate.is_set():
            await gate.wait()  # the first write has to wait for the socket
        sent.append(event["text"])

    conn, _, _ = member(manager, codec, "c", send=slow_then_fast)
    await conn.join("room")
    for n in range(3):
        await manager.broadcast("room", "tick", n)  # returns at once each time
    assert sent == []
    assert conn.outbox.write_started > 0
    gate.set()
    await conn.outbox.wait_sent()
    assert sent == [f'{{"type":"tick","payload":{n}}}' for n in range(3)]
    assert conn.outbox.write_started == 0
    assert not conn.outbox.is_closed


async def test_members_after_a_waiting_write_are_written_before_broadcast_returns() -> None:
    # Fan-out drives each ASGI send inline; one that has to wait is finished in a task
    # of its own, and every member after it is still written before `broadcast` returns.
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    gate = asyncio.Event()
    waiting: list[str] = []

    def gated(name: str) -> Any:
        async def send(event: dict[str, Any]) -> None:
            await gate.wait()
            waiting.append(f"{name} {event['text']}")

        return send

    members = [
        member(manager, codec, f"c{n}", send=gated(f"c{n}") if n % 5 == 2 else None)
        for n in range(20)
    ]
    for conn, _, _ in members:
        await conn.join("room")
    for n in range(2):
        await manager.broadcast("room", "tick", n)
    quick = [(conn, sent) for conn, sent, _ in members if not conn.id.endswith(("2", "7"))]
    assert len(quick) == 16
    for conn, sent in quick:  # nothing awaited since: written inline, in order
        assert [event["text"] for event in sent] == [
            '{"type":"tick","payload":0}',
            '{"type":"tick","payload":1}',
        ], conn.id
    assert waiting == []
    assert manager.recipients == 40
    gate.set()
    for conn, _, _ in members:
        await asyncio.wait_for(conn.outbox.wait_sent(), 1.0)
    for name in ("c2", "c7", "c12", "c17"):
        mine = [line for line in waiting if line.startswith(f"{name} ")]
        assert mine == [
            f'{name} {{"type":"tick","payload":0}}',
            f'{name} {{"type":"tick","payload":1}}',
        ]
    assert all(not conn.outbox.is_closed for conn, _, _ in members)


async def test_a_write_that_fails_after_waiting_closes_only_its_member() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    gate = asyncio.Event()

    async def fails_later(event: dict[str, Any]) -> None:
        await gate.wait()
        raise ConnectionResetError

    broken, _, _ = member(manager, codec, "broken", send=fails_later)
    others = [member(manager, codec, f"c{n}") for n in range(5)]
    await broken.join("room")
    for conn, _, _ in others:
        await conn.join("room")
    await manager.broadcast("room", "tick", 0)
    gate.set()
    await asyncio.wait_for(broken.outbox.wait_sent(), 1.0)
    assert broken.outbox.is_closed
    await manager.broadcast("room", "tick", 1)
    for conn, sent, _ in others:
        assert not conn.outbox.is_closed
        assert [event["text"] for event in sent][-2:] == [
            '{"type":"tick","payload":0}',
            '{"type":"tick","payload":1}',
        ]


async def test_a_send_that_is_not_an_async_def_is_still_driven() -> None:
    # An ASGI server may hand out a callable object whose call returns an awaitable
    # with only `__await__` (like an extension type's): the outbox wraps it, and the
    # fan-out writes through it.
    class Written:
        def __await__(self) -> Any:
            return asyncio.sleep(0).__await__()

    class AwaitableSend:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def __call__(self, event: dict[str, Any]) -> Written:
            self.sent.append(event["text"])
            return Written()

    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    send = AwaitableSend()
    conn, _, _ = member(manager, codec, "c", send=send)
    await conn.join("room")
    await manager.broadcast("room", "tick", 3)
    await conn.outbox.wait_sent()
    assert send.sent == ['{"type":"tick","payload":3}']
    assert not conn.outbox.is_closed
