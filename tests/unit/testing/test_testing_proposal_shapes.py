"""The simulator session in the design proposal's shapes: push_message, sent_messages, pop_sent."""

from __future__ import annotations

import msgspec
import pytest

import pachinko
from pachinko import Connection, MessageSpec, Subprotocol
from pachinko.testing import (
    InsecureURL,
    ReceiveTimeout,
    WebSocketClosed,
    WebSocketSimulator,
    WebSocketTestClient,
)


async def echo(conn: Connection, payload: object) -> object:
    return payload


async def burst(conn: Connection, payload: object) -> None:
    await conn.send("one", 1)
    await conn.send("two", 2)
    await conn.close(4000, "done")


def app() -> pachinko.App:
    router = pachinko.WebSocketRouter()
    router.add_route(
        "/ws",
        messages=[MessageSpec("echo", echo), MessageSpec("burst", burst)],
        subprotocols=[Subprotocol("echo.v2+msgpack", codec="msgpack")],
    )
    return pachinko.App(router=router)


async def test_push_message_then_pop_sent_answers_in_order() -> None:
    async with WebSocketSimulator(app()) as sim, sim.connect("/ws") as session:
        await session.push_message({"type": "echo", "payload": "a", "id": 1})
        await session.push_message('{"type": "echo", "payload": "b", "id": 2}')
        assert await session.pop_sent() == {"type": "echo.reply", "payload": "a", "id": 1}
        assert await session.pop_sent() == {"type": "echo.reply", "payload": "b", "id": 2}
        assert session.sent_messages == []
        with pytest.raises(ReceiveTimeout):
            await session.pop_sent(timeout=0.05)


async def test_sent_messages_holds_what_the_app_sent_and_the_test_did_not_read() -> None:
    async with WebSocketSimulator(app()) as sim, sim.connect("/ws") as session:
        await session.push_message({"type": "burst"})
        await session.wait_app()  # NOTE: the app closed the connection: it sent everything
        assert session.sent_messages == [
            {"type": "one", "payload": 1},
            {"type": "two", "payload": 2},
        ]
        assert await session.pop_sent() == {"type": "one", "payload": 1}
        assert session.sent_messages == [{"type": "two", "payload": 2}]
        assert await session.pop_sent() == {"type": "two", "payload": 2}
        with pytest.raises(WebSocketClosed) as closed:
            await session.pop_sent()
        assert closed.value.code == 4000
    assert [frame.kind for frame in session.frames] == ["text", "text", "text", "close"]


async def test_a_subprotocol_with_its_own_codec_is_spoken_with_codec() -> None:
    async with (
        WebSocketSimulator(app()) as sim,
        sim.connect("/ws", subprotocols=["echo.v2+msgpack"], codec="msgpack") as session,
    ):
        assert session.subprotocol == "echo.v2+msgpack"
        await session.push_message({"type": "echo", "payload": [1, 2], "id": 3})
        reply = await session.receive()
        assert reply.kind == "binary"
        assert msgspec.msgpack.decode(reply.data) == {
            "type": "echo.reply",
            "payload": [1, 2],
            "id": 3,
        }
        await session.send_message("echo", "x", id=4)
        assert await session.receive_media() == {"type": "echo.reply", "payload": "x", "id": 4}
    assert [frame.kind for frame in session.frames[:4]] == ["binary"] * 4


async def test_without_codec_a_binary_answer_is_still_decoded_by_its_kind() -> None:
    async with (
        WebSocketSimulator(app()) as sim,
        sim.connect("/ws", subprotocols=["echo.v2+msgpack"]) as session,
    ):
        await session.push_message(msgspec.msgpack.encode({"type": "echo", "payload": 5}))
        assert await session.receive_media() == {"type": "echo.reply", "payload": 5}


def test_connect_refuses_plain_ws_unless_allowed() -> None:
    with pytest.raises(InsecureURL, match="allow_insecure=True"):
        WebSocketTestClient("ws://127.0.0.1:9").connect("/ws")
    with pytest.raises(InsecureURL):
        WebSocketTestClient("http://127.0.0.1:9").connect("/ws")
    session = WebSocketTestClient("https://example.com/", allow_insecure=False).connect("/ws")
    assert session.url == "wss://example.com/ws"
    allowed = WebSocketTestClient("ws://127.0.0.1:9", allow_insecure=True, headers={"x": "1"})
    session = allowed.connect("/ws", headers=[("y", "2")])
    assert (session.url, session.headers) == ("ws://127.0.0.1:9/ws", [("x", "1"), ("y", "2")])
