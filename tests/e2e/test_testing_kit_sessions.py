"""`WebSocketTestClient` in the design proposal's shape, against a real server and subprotocols."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

import pachinko
from pachinko.testing import InsecureURL, LiveServer, WebSocketTestClient

VERSIONED = Path(__file__).parent / "apps" / "versioned" / "pachinko.toml"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(pachinko.build(VERSIONED)) as live:
        yield live


async def test_a_session_per_connect_with_the_clients_subprotocols(server: LiveServer) -> None:
    client = WebSocketTestClient(server.url, subprotocols=["chat.v2"], allow_insecure=True)
    async with client.connect("/chat") as session:
        assert session.subprotocol == "chat.v2"
        await session.send_json({"type": "send", "payload": {"body": "hi"}, "id": 1})
        reply = await session.receive_json()
        assert reply["payload"] == {"version": 2, "body": "hi", "subprotocol": "chat.v2"}
        await session.send_bytes(b'{"type": "send", "payload": {"text": "old"}, "id": 2}')
        frame = await session.receive()
        assert frame.payload["payload"]["code"] == "invalid_payload"
        await session.close()
    trace = [(f.index, f.direction, f.kind) for f in session.frames]
    assert trace == [
        (0, "sent", "text"),
        (1, "received", "text"),
        (2, "sent", "binary"),
        (3, "received", "text"),
        (4, "sent", "close"),
    ]
    assert session.close_code == 1000


async def test_leaving_the_block_closes_the_session_even_when_a_test_fails(
    server: LiveServer,
) -> None:
    client = WebSocketTestClient(server.url, allow_insecure=True)
    session = client.connect("/chat", subprotocols=["chat.v1"])

    async def failing_test() -> None:
        async with session:
            assert session.subprotocol == "chat.v1"
            raise AssertionError("a failing test")

    with pytest.raises(AssertionError, match="a failing test"):
        await failing_test()
    assert session.close_code == 1000
    assert session.ws is not None
    assert session.ws.state.name == "CLOSED"


async def test_a_msgpack_subprotocol_is_read_and_written_in_binary(server: LiveServer) -> None:
    client = WebSocketTestClient(
        server.url, subprotocols=["chat.v2.msgpack"], allow_insecure=True, codec="msgpack"
    )
    async with client.connect("/chat") as session:
        assert session.subprotocol == "chat.v2.msgpack"
        await session.send_message("send", {"body": "b"}, id=9)
        assert await session.receive_media() == {
            "type": "sent",
            "payload": {"version": 2, "body": "b", "subprotocol": "chat.v2.msgpack"},
            "id": 9,
        }
    sent, received = session.frames[:2]
    assert (sent.kind, received.kind) == ("binary", "binary")
    assert msgspec.msgpack.decode(sent.data) == {"type": "send", "payload": {"body": "b"}, "id": 9}


def test_plain_ws_is_refused_before_any_connection(server: LiveServer) -> None:
    with pytest.raises(InsecureURL) as refused:
        WebSocketTestClient(server.url).connect("/chat")
    assert str(refused.value) == (
        f"refusing {server.url}/chat: it is not encrypted (not wss://); pass "
        "allow_insecure=True to WebSocketTestClient for a local test server"
    )
