"""`[[routes.subprotocols]]` from a manifest, served by `pachinko serve`, spoken by real clients."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from conftest import APPS, peer
from test_cli_serve import BIN, started

MANIFEST = APPS / "versioned" / "pachinko.toml"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with started([BIN / "pachinko", "serve", "-m", MANIFEST]) as (_, port):
        yield f"ws://127.0.0.1:{port}/chat"


async def test_the_server_answers_with_the_first_offered_name_it_speaks(url: str) -> None:
    async with peer(url, subprotocols=["chat.v3", "chat.v2", "chat.v1"]) as p:
        assert p.ws.response.headers["Sec-WebSocket-Protocol"] == "chat.v2"
        # NOTE: the client offers permessage-deflate; the manifest leaves compression off.
        assert "Sec-WebSocket-Extensions" not in p.ws.response.headers
        reply = await p.ask({"type": "send", "payload": {"body": "hi"}, "id": 1})
    assert reply == {
        "type": "sent",
        "payload": {"version": 2, "body": "hi", "subprotocol": "chat.v2"},
        "id": 1,
    }


async def test_the_old_version_keeps_its_own_messages(url: str) -> None:
    async with peer(url, subprotocols=["chat.v1", "chat.v2"]) as p:
        assert p.ws.response.headers["Sec-WebSocket-Protocol"] == "chat.v1"
        old = await p.ask({"type": "send", "payload": {"text": "hi"}, "id": 1})
        new = await p.ask({"type": "send", "payload": {"body": "hi"}, "id": 2})
    assert old["payload"] == {"version": 1, "text": "hi", "subprotocol": "chat.v1"}
    assert new["payload"]["code"] == "invalid_payload"


async def test_a_client_offering_nothing_known_gets_the_route_defaults(url: str) -> None:
    async with peer(url, subprotocols=["chat.v9"]) as p:
        assert "Sec-WebSocket-Protocol" not in p.ws.response.headers
        reply = await p.ask({"type": "send", "payload": {"text": "hi"}})
    assert reply["payload"] == {"version": 1, "text": "hi", "subprotocol": None}


async def test_a_msgpack_subprotocol_answers_in_binary(url: str) -> None:
    async with peer(url, subprotocols=["chat.v2.msgpack"]) as p:
        assert p.ws.response.headers["Sec-WebSocket-Protocol"] == "chat.v2.msgpack"
        await p.send(msgspec.msgpack.encode({"type": "send", "payload": {"body": "x"}, "id": 3}))
        raw = await p.recv()
    assert isinstance(raw, bytes)
    assert msgspec.msgpack.decode(raw) == {
        "type": "sent",
        "payload": {"version": 2, "body": "x", "subprotocol": "chat.v2.msgpack"},
        "id": 3,
    }


def test_routes_lists_a_row_per_subprotocol() -> None:
    done = subprocess.run(
        [BIN / "pachinko", "routes", "-m", MANIFEST], capture_output=True, text=True, check=True
    )
    table = [line.split()[:4] for line in done.stdout.splitlines()]
    assert table == [
        ["PATH", "SUBPROTOCOL", "TYPE", "HANDLER"],
        ["/chat", "-", "send", "e2e_versioned:ChatV1.on_send"],
        ["/chat", "chat.v1", "send", "e2e_versioned:ChatV1.on_send"],
        ["/chat", "chat.v2", "send", "e2e_versioned:ChatV2.on_send"],
        ["/chat", "chat.v2.msgpack", "send", "e2e_versioned:ChatV2.on_send"],
    ]


async def test_a_subprotocol_and_deflate_are_negotiated_together(tmp_path: Path) -> None:
    shutil.copy(MANIFEST.parent / "e2e_versioned.py", tmp_path)
    text = MANIFEST.read_text().replace(
        'name = "versioned"', 'name = "versioned"\ncompression = "deflate"'
    )
    (tmp_path / "pachinko.toml").write_text(text)
    with started([BIN / "pachinko", "serve", "-m", tmp_path / "pachinko.toml"]) as (_, port):
        url = f"ws://127.0.0.1:{port}/chat"
        async with peer(url, subprotocols=["chat.v2"]) as p:
            headers = p.ws.response.headers
            assert headers["Sec-WebSocket-Protocol"] == "chat.v2"
            assert headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
            reply = await p.ask({"type": "send", "payload": {"body": "z" * 4000}, "id": 1})
            assert reply["payload"] == {"version": 2, "body": "z" * 4000, "subprotocol": "chat.v2"}
        async with peer(url, subprotocols=["chat.v2"], compression=None) as p:
            assert "Sec-WebSocket-Extensions" not in p.ws.response.headers
            assert p.ws.response.headers["Sec-WebSocket-Protocol"] == "chat.v2"


def test_check_reports_a_duplicate_subprotocol_where_it_is_written() -> None:
    bad = APPS.parent.parent / "manifests" / "bad" / "r_subprotocol_duplicate.toml"
    done = subprocess.run(
        [BIN / "pachinko", "check", "-m", bad, "--format", "json"], capture_output=True, text=True
    )
    assert done.returncode == 1
    (found,) = json.loads(done.stdout)
    assert (found["line"], found["code"], found["hint"]) == (
        11,
        "duplicate-subprotocol",
        "the first is at line 8",
    )
