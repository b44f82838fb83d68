"""`pachinko.wire` under `pachinko serve`: frames built once, written to many, in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from pachinko.serve import WIRE, message_frame
from pachinko.testing import LiveServer

BURST = 400  # frames of 1 KiB: far over the 64 KiB write buffers, so the transport pauses


def make_app() -> tuple[Any, dict[str, Any]]:
    """A hand-written ASGI app: `/fan` broadcasts through the wire, `/burst` floods one peer."""
    members: list[Any] = []
    seen: dict[str, Any] = {"paused": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        wire = scope["extensions"].get(WIRE)
        if scope["path"] == "/has-wire":
            await send({"type": "websocket.send", "text": json.dumps(wire is not None)})
            await receive()
            return
        if scope["path"] == "/burst":
            # NOTE: wire frames and ASGI sends interleaved; the peer reads only later.
            for i in range(BURST):
                if i % 50 == 49:
                    await send({"type": "websocket.send", "text": f"asgi {i}"})
                elif not wire.write(message_frame(f"wire {i} " + "x" * 1024)):
                    seen["paused"] += 1
            await send({"type": "websocket.send", "text": "end"})
            await receive()
            return
        members.append(wire)
        try:
            while (event := await receive())["type"] == "websocket.receive":
                frame = message_frame(event["text"])  # NOTE: built once for every member
                for member in members:
                    member.write(frame)
                await send({"type": "websocket.send", "text": "sent"})
        finally:
            members.remove(wire)

    return app, seen


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    app, seen = make_app()
    with LiveServer(app) as live:
        yield live, seen


async def test_a_broadcast_frame_reaches_every_member_in_order_with_replies(
    served: tuple[LiveServer, dict[str, Any]],
) -> None:
    live, _ = served
    clients = [await connect(live.url + "/fan", compression=None) for _ in range(3)]
    try:
        await asyncio.sleep(0.1)  # NOTE: all three are members before the first broadcast
        await clients[0].send("hello")
        await clients[0].send("again")
        assert [await clients[0].recv() for _ in range(4)] == ["hello", "sent", "again", "sent"]
        for client in clients[1:]:
            assert [await client.recv() for _ in range(2)] == ["hello", "again"]
    finally:
        for client in clients:
            await client.close()


async def test_a_paused_transport_queues_wire_frames_behind_earlier_sends(
    served: tuple[LiveServer, dict[str, Any]],
) -> None:
    live, seen = served
    async with connect(live.url + "/burst", compression=None, max_queue=1) as client:
        await asyncio.sleep(0.5)  # NOTE: not reading: the server's transport pauses
        got = [await asyncio.wait_for(client.recv(), 5) for _ in range(BURST + 1)]
    expected = [f"asgi {i}" if i % 50 == 49 else f"wire {i} " + "x" * 1024 for i in range(BURST)]
    assert got == [*expected, "end"]
    assert seen["paused"] > 0


@pytest.mark.parametrize(
    ("compression", "offer", "present"),
    [
        ("off", "deflate", True),
        ("deflate", None, True),
        ("deflate", "deflate", False),
    ],
)
async def test_the_wire_is_absent_when_deflate_may_be_negotiated(
    compression: str, offer: str | None, present: bool
) -> None:
    app, _ = make_app()
    with LiveServer(app, compression=compression) as live:
        async with connect(live.url + "/has-wire", compression=offer) as client:
            assert json.loads(await client.recv()) is present
