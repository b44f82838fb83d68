"""The Outbox and the two hot loops that inline it run the same rules under the same timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import pachinko
from pachinko.codecs import JsonCodec
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import nested_frame
from pachinko.runtime.outbox import UNTIMED, Outbox
from pachinko.runtime.watchdog import Watchdog

Event = dict[str, Any]


class SlowPeer:
    """An ASGI peer for one WebSocket whose every `send` of a frame takes `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self.sent: list[Event] = []
        self.arrived: asyncio.Queue[Event] = asyncio.Queue()  # every frame or close, as it comes

    async def receive(self) -> Event:
        return await self.inbox.get()

    async def send(self, event: Event) -> None:
        if event["type"] == "websocket.send":
            await asyncio.sleep(self.delay)  # the client takes this long to accept a frame
        self.sent.append(event)
        self.arrived.put_nowait(event)
        if event["type"] == "websocket.close":
            await self.inbox.put({"type": "websocket.disconnect", "code": event["code"]})

    def texts(self) -> list[str]:
        return [event["text"] for event in self.sent if event["type"] == "websocket.send"]

    def close_codes(self) -> list[int]:
        return [event["code"] for event in self.sent if event["type"] == "websocket.close"]


def slow_app(send_timeout: float, handler_delay: float) -> pachinko.App:
    """Two message types that answer after `handler_delay`: one returns, one sends."""

    async def returns(conn: Connection, payload: object) -> str:
        await asyncio.sleep(handler_delay)
        return "returned"

    async def sends(conn: Connection, payload: object) -> None:
        await asyncio.sleep(handler_delay)
        await conn.reply("sent")

    limits = pachinko.Limits(send_timeout=send_timeout, rate_count=0)
    router = pachinko.WebSocketRouter(limits=limits)
    router.add_route("/ws", messages={"returns": returns, "sends": sends})
    return pachinko.App(router=router)


async def converse(app: pachinko.App, peer: SlowPeer, frames: list[str]) -> None:
    """Connect, send `frames` one after another once each reply is in, then disconnect."""
    scope = {"type": "websocket", "path": "/ws", "headers": [], "subprotocols": []}
    await peer.inbox.put({"type": "websocket.connect"})
    task = asyncio.create_task(app(scope, peer.receive, peer.send))
    for frame in frames:
        await peer.inbox.put({"type": "websocket.receive", "text": frame})
        answer = await asyncio.wait_for(peer.arrived.get(), 5)
        if answer["type"] == "websocket.close":
            break
    else:
        await peer.inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 5)


@pytest.mark.parametrize("kind", ["returns", "sends"])
async def test_handler_time_is_not_write_time(kind: str) -> None:
    # A handler that takes longer than send_timeout, answering a client that takes
    # half of it to accept each frame: nothing is slow about the write itself.
    peer = SlowPeer(delay=0.1)
    await converse(slow_app(send_timeout=0.2, handler_delay=0.3), peer, [
        f'{{"type": "{kind}", "id": 1}}',
        f'{{"type": "{kind}", "id": 2}}',
    ])  # fmt: skip
    assert peer.close_codes() == []
    answer = "returned" if kind == "returns" else "sent"
    assert peer.texts() == [
        f'{{"type":"{kind}.reply","payload":"{answer}","id":{n}}}' for n in (1, 2)
    ]


@pytest.mark.parametrize("kind", ["returns", "sends"])
async def test_a_write_slower_than_send_timeout_drops_the_connection(kind: str) -> None:
    peer = SlowPeer(delay=0.6)
    await converse(slow_app(send_timeout=0.2, handler_delay=0.0), peer, [f'{{"type": "{kind}"}}'])
    assert peer.close_codes() == [1013]


async def test_a_returned_reply_is_timed_by_the_watchdog_not_the_hot_path() -> None:
    # The reply path reads no clock for its write: it marks it UNTIMED, and the watchdog
    # stamps its own reading at first sight. A write slower than send_timeout still drops
    # (the test above); one within it does not (test_handler_time_is_not_write_time).
    conns: list[Connection] = []
    seen: list[float] = []

    async def returns(conn: Connection, payload: object) -> str:
        conns.append(conn)
        return "returned"

    router = pachinko.WebSocketRouter(limits=pachinko.Limits(send_timeout=0.2, rate_count=0))
    router.add_route("/ws", messages={"returns": returns})
    peer = SlowPeer(delay=0.0)
    accept = peer.send

    async def send(event: Event) -> None:
        if event["type"] == "websocket.send":
            seen.append(conns[0].outbox.write_started)
        await accept(event)

    peer.send = send  # type: ignore[method-assign]
    await converse(pachinko.App(router=router), peer, ['{"type": "returns"}'])
    assert seen == [UNTIMED]
    assert peer.texts() == ['{"type":"returns.reply","payload":"returned"}']


async def test_the_watchdog_stamps_an_untimed_write_then_drops_it_past_send_timeout() -> None:
    manager = pachinko.WebSocketConnectionManager()
    stuck = asyncio.Event()

    async def never_returns(event: Event) -> None:
        await stuck.wait()

    dropped: list[int] = []
    gone = asyncio.Event()

    def on_drop(code: int) -> None:
        dropped.append(code)
        gone.set()

    outbox = Outbox(never_returns, JsonCodec(), nested_frame, on_drop=on_drop)
    conn = Connection("c", manager=manager, outbox=outbox)
    manager.register(conn)
    outbox.write_started = UNTIMED
    watchdog = Watchdog(manager, pachinko.Limits(send_timeout=0.2, idle_timeout=60))
    before = time.monotonic()
    watchdog.ensure_running()
    try:
        await asyncio.wait_for(gone.wait(), 2)
    finally:
        await watchdog.stop()
        stuck.set()
    assert dropped == [1013]
    stamped = outbox.write_started
    assert stamped > before  # a clock reading of the watchdog's, not the sentinel


def member(send: Callable[[Event], Awaitable[None]], limit: int = 4) -> tuple[Connection, list]:
    manager = pachinko.WebSocketConnectionManager()
    dropped: list[int] = []
    outbox = Outbox(send, JsonCodec(), nested_frame, limit=limit, on_drop=dropped.append)
    conn = Connection("c", manager=manager, outbox=outbox)
    manager.register(conn)
    return conn, dropped


async def fan_out(conn: Connection, event: Event) -> None:
    """The manager's fan-out loop (which inlines Outbox.push); the memory backend delivers
    before `broadcast` returns."""
    if "room" not in conn.rooms:
        await conn.manager.start()
        await conn.join("room")
    await conn.manager.broadcast("room", "tick", event["n"])


async def push(conn: Connection, event: Event) -> None:
    conn.outbox.push(conn.outbox.encode("tick", event["n"], None))


@pytest.mark.parametrize("deliver", [fan_out, push], ids=["fan-out", "Outbox.push"])
async def test_fan_out_and_push_queue_behind_a_waiting_write_then_drop_on_overflow(
    deliver: Callable[[Connection, Event], Awaitable[None]],
) -> None:
    gate = asyncio.Event()
    written: list[str] = []

    async def waits_for_the_gate(event: Event) -> None:
        await gate.wait()
        written.append(event["text"])

    conn, dropped = member(waits_for_the_gate, limit=2)
    await deliver(conn, {"n": 0})
    assert conn.outbox.write_started > 0  # the first write waits, in a task
    await deliver(conn, {"n": 1})
    await deliver(conn, {"n": 2})
    assert len(conn.outbox.queue or ()) == 2
    assert dropped == []
    gate.set()
    await conn.outbox.wait_sent()
    assert written == [f'{{"type":"tick","payload":{n}}}' for n in range(3)]
    assert conn.outbox.write_started == 0
    gate.clear()
    for n in range(4):  # one waiting write, two queued, the fourth overflows
        await deliver(conn, {"n": n})
    assert dropped == [1013]
    assert conn.outbox.is_closed
    conn.outbox.stop()


@pytest.mark.parametrize("deliver", [fan_out, push], ids=["fan-out", "Outbox.push"])
async def test_fan_out_and_push_write_at_once_to_a_quiet_socket(
    deliver: Callable[[Connection, Event], Awaitable[None]],
) -> None:
    written: list[str] = []

    async def immediate(event: Event) -> None:
        written.append(event["text"])

    conn, _ = member(immediate)
    await deliver(conn, {"n": 7})
    assert written == ['{"type":"tick","payload":7}']  # written before any await: no task
    assert conn.outbox.write_started == 0
    assert conn.outbox.writer is None


class FakeWire:
    """A `pachinko.wire` whose peer can be made to fall behind (`paused`)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.framed = 0
        self.paused = False
        self.caught_up = asyncio.Event()

    def frame(self, payload: str | bytes) -> bytes:
        self.framed += 1
        return b"F" + (payload.encode() if isinstance(payload, str) else payload)

    def write(self, frame: bytes) -> bool:
        self.written.append(frame)
        return not self.paused

    async def drained(self) -> None:
        await self.caught_up.wait()


def wired_member(wire: FakeWire, limit: int = 4) -> tuple[Connection, list[str]]:
    sent: list[str] = []

    async def asgi_send(event: Event) -> None:
        sent.append(event["text"])

    conn, _ = member(asgi_send, limit)
    conn.outbox.wire = wire
    return conn, sent


@pytest.mark.parametrize("deliver", [fan_out, push], ids=["fan-out", "Outbox.push"])
async def test_a_quiet_wire_takes_the_frame_and_no_asgi_send_is_made(
    deliver: Callable[[Connection, Event], Awaitable[None]],
) -> None:
    wire = FakeWire()
    conn, sent = wired_member(wire)
    await deliver(conn, {"n": 1})
    assert wire.written == [b'F{"type":"tick","payload":1}']
    assert sent == []
    assert conn.outbox.write_started == 0
    assert conn.outbox.writer is None


@pytest.mark.parametrize("deliver", [fan_out, push], ids=["fan-out", "Outbox.push"])
async def test_a_peer_behind_on_the_wire_holds_later_frames_in_order(
    deliver: Callable[[Connection, Event], Awaitable[None]],
) -> None:
    wire = FakeWire()
    wire.paused = True
    conn, sent = wired_member(wire, limit=2)
    await deliver(conn, {"n": 0})
    assert conn.outbox.write_started > 0  # the watchdog times it like any waiting write
    await deliver(conn, {"n": 1})
    await deliver(conn, {"n": 2})
    assert len(wire.written) == 1
    assert len(conn.outbox.queue or ()) == 2
    wire.paused = False
    wire.caught_up.set()
    await conn.outbox.wait_sent()
    assert sent == ['{"type":"tick","payload":1}', '{"type":"tick","payload":2}']
    assert conn.outbox.write_started == 0
    await deliver(conn, {"n": 3})  # caught up: straight to the wire again
    assert wire.written[-1] == b'F{"type":"tick","payload":3}'


async def test_a_broadcast_is_framed_once_for_every_wired_member() -> None:
    manager = pachinko.WebSocketConnectionManager()
    await manager.start()
    wire = FakeWire()
    codec = JsonCodec()  # NOTE: one per router, shared by its connections
    conns = []
    for n in range(20):
        outbox = Outbox(lambda event: None, codec, nested_frame, wire=wire)
        conn = Connection(f"c{n}", manager=manager, outbox=outbox)
        manager.register(conn)
        await conn.join("room")
        conns.append(conn)
    await manager.broadcast("room", "tick", 1)
    assert wire.framed == 1
    assert len(wire.written) == 20
    assert len({id(frame) for frame in wire.written}) == 1  # the same bytes object
