"""Application subprotocols over a real server: the handshake names the chosen one."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from conftest import peer

import pachinko
from pachinko import Connection, MessageSpec, Subprotocol
from pachinko.testing import LiveServer


async def hello(conn: Connection, payload: object) -> dict[str, object]:
    return {"subprotocol": conn.subprotocol}


@pytest.fixture(scope="module")
def versioned() -> Iterator[LiveServer]:
    router = pachinko.WebSocketRouter(allowed_origins=["*"])
    router.add_route(
        "/chat",
        messages=[MessageSpec("hello", hello)],
        subprotocols=[Subprotocol("chat.v1"), Subprotocol("chat.v2", codec="msgpack")],
    )
    with LiveServer(pachinko.App(router=router)) as server:
        yield server


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["chat.v9", "chat.v1", "chat.v2"], "chat.v1"),
        (["pachinko.json"], "pachinko.json"),
        (["chat.v9"], None),
    ],
)
async def test_the_handshake_answers_with_the_chosen_subprotocol(
    versioned: LiveServer, offered: list[str], chosen: str | None
) -> None:
    async with peer(versioned.url + "/chat", subprotocols=offered) as p:
        assert p.ws.subprotocol == chosen
        reply = await p.ask({"type": "hello", "id": 1})
        assert reply == {"type": "hello.reply", "payload": {"subprotocol": chosen}, "id": 1}


async def test_a_subprotocol_with_its_own_codec_speaks_it(versioned: LiveServer) -> None:
    async with peer(versioned.url + "/chat", subprotocols=["chat.v2", "pachinko.json"]) as p:
        assert p.ws.subprotocol == "chat.v2"
        await p.send(msgspec.msgpack.encode({"type": "hello", "id": 2}))
        reply = await p.ws.recv()
        assert isinstance(reply, bytes)
        assert msgspec.msgpack.decode(reply) == {
            "type": "hello.reply",
            "payload": {"subprotocol": "chat.v2"},
            "id": 2,
        }
