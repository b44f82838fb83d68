"""The demo chat (`pachinko.toml` at the repo root) over a real socket, without a browser."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

import pachinko
from pachinko.testing.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(pachinko.build(ROOT / "pachinko.toml")) as live:
        yield live


def room_url(server: LiveServer, room: str, nick: str | None = None) -> str:
    query = f"?nick={nick}" if nick else ""
    return f"{server.url}/ws/chat/{room}{query}"


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


async def send(ws: ClientConnection, type_: str, payload: object, id_: int) -> None:
    await ws.send(json.dumps({"type": type_, "payload": payload, "id": id_}))


async def frame_of(ws: ClientConnection, type_: str) -> dict[str, Any]:
    """Read frames until one of `type_` arrives; fail after a few seconds."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == type_:
                return frame


def test_the_page_is_served_at_the_root(server: LiveServer) -> None:
    with urllib.request.urlopen(server.http_url + "/", timeout=TIMEOUT) as response:
        body = response.read().decode()
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
    assert '<ul id="messages"' in body
    assert "/ws/chat/" in body


async def test_said_reaches_the_other_member_with_the_nick(server: LiveServer) -> None:
    room = fresh_room()
    async with connect(room_url(server, room)) as bob, connect(room_url(server, room)) as alice:
        await frame_of(bob, "presence.join")
        await send(alice, "nick", {"name": "alice"}, 1)
        assert await frame_of(alice, "nick.reply") == {
            "type": "nick.reply",
            "payload": {"nick": "alice"},
            "id": 1,
        }
        renamed = await frame_of(bob, "renamed")
        assert renamed["payload"]["to"] == "alice"

        await send(alice, "say", {"text": "hello bob"}, 2)
        said = await frame_of(bob, "said")
        assert said == {"type": "said", "payload": {"nick": "alice", "text": "hello bob"}}
        assert await frame_of(alice, "say.ok") == {
            "type": "say.ok",
            "payload": {"ok": True},
            "id": 2,
        }


async def test_presence_join_carries_the_nick_given_in_the_query(server: LiveServer) -> None:
    room = fresh_room()
    async with connect(room_url(server, room, "bob")) as bob:
        async with connect(room_url(server, room, "alice")):
            joined = await frame_of(bob, "presence.join")
            assert joined["payload"]["user"] == "alice"
            assert joined["payload"]["room"] == f"chat:{room}"
        left = await frame_of(bob, "presence.leave")
        assert left["payload"]["user"] == "alice"


async def test_a_late_joiner_gets_the_history_oldest_first(server: LiveServer) -> None:
    room = fresh_room()
    async with connect(room_url(server, room, "alice")) as alice:
        for number, text in enumerate(("one", "two", "three"), start=1):
            await send(alice, "say", {"text": text}, number)
            await frame_of(alice, "say.ok")
        async with connect(room_url(server, room, "carol")) as carol:
            replayed = [json.loads(await asyncio.wait_for(carol.recv(), TIMEOUT)) for _ in range(3)]
    assert [frame["payload"] for frame in replayed] == [
        {"nick": "alice", "text": "one"},
        {"nick": "alice", "text": "two"},
        {"nick": "alice", "text": "three"},
    ]


async def test_a_too_long_text_is_an_invalid_payload_error(server: LiveServer) -> None:
    async with connect(room_url(server, fresh_room(), "alice")) as alice:
        await send(alice, "say", {"text": "x" * 501}, 7)
        error = await frame_of(alice, "error")
        assert error["id"] == 7
        assert error["payload"]["code"] == "invalid_payload"
        assert "$.payload.text" in error["payload"]["message"]
        await send(alice, "say", {"text": "still here"}, 8)  # the connection stays open
        assert (await frame_of(alice, "say.ok"))["id"] == 8


async def test_a_page_from_another_origin_is_refused(server: LiveServer) -> None:
    url = room_url(server, fresh_room())
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    same = f"http://127.0.0.1:{server.port}"
    async with connect(url, origin=same) as ws:  # type: ignore[arg-type]
        await send(ws, "nick", {"name": "ok"}, 1)
        assert (await frame_of(ws, "nick.reply"))["id"] == 1
