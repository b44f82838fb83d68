"""The per-message path over a real server: replies, ids, every error code, codecs."""

from __future__ import annotations

import json

import msgspec
import pytest
from conftest import peer
from websockets.exceptions import InvalidStatus

from pachinko.testing import LiveServer


async def test_reply_carries_the_client_id_of_either_type(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/ids") as p:
        assert await p.ask({"type": "add", "payload": {"a": 1, "b": 2}, "id": 7}) == {
            "type": "add.reply",
            "payload": {"sum": 3},
            "id": 7,
        }
        reply = await p.ask({"type": "add", "payload": {"a": 2, "b": 2}, "id": "q-1"})
        assert reply["id"] == "q-1"
        assert await p.ask({"type": "add", "payload": {"a": 0, "b": 0}}) == {
            "type": "add.reply",
            "payload": {"sum": 0},
        }


async def test_reply_type_comes_from_the_manifest(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/rt") as p:
        assert await p.ask({"type": "echo", "payload": [1, "x"], "id": 1}) == {
            "type": "echoed",
            "payload": [1, "x"],
            "id": 1,
        }


async def test_conn_reply_and_return_value_are_both_sent_in_order(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/twice") as p:
        await p.send({"type": "twice", "id": 5})
        assert await p.recv() == {"type": "twice.reply", "payload": "first", "id": 5}
        assert await p.recv() == {"type": "twice.reply", "payload": "second", "id": 5}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_envelope"),
        ('{"payload": 1}', "invalid_envelope"),
        ('{"type": 5}', "invalid_envelope"),
        ('"just a string"', "invalid_envelope"),
    ],
)
async def test_undecodable_frames_get_an_error_and_the_connection_stays_open(
    chat: LiveServer, frame: str, code: str
) -> None:
    async with peer(chat.url + "/ws/chat/bad") as p:
        reply = await p.ask(frame)
        assert reply["type"] == "error"
        assert reply["payload"]["code"] == code
        assert "id" not in reply
        assert (await p.ask({"type": "add", "payload": {"a": 1, "b": 1}, "id": 2}))["id"] == 2


async def test_unknown_type_is_an_error_answering_the_id(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/unknown") as p:
        reply = await p.ask({"type": "nope", "id": "x"})
        assert reply == {
            "type": "error",
            "payload": {"code": "unknown_type", "message": "no handler for message type 'nope'"},
            "id": "x",
        }


async def test_invalid_payload_names_the_field_path(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/payload") as p:
        reply = await p.ask({"type": "add", "payload": {"a": "one", "b": 2}, "id": 3})
        assert reply["payload"]["code"] == "invalid_payload"
        assert "$.payload.a" in reply["payload"]["message"]
        assert reply["id"] == 3
        missing = await p.ask({"type": "add", "id": 4})
        assert missing["payload"]["code"] == "invalid_payload"
        assert "$.payload" in missing["payload"]["message"]


async def test_strict_payloads_refuse_unknown_fields(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/strict") as p:
        reply = await p.ask({"type": "add", "payload": {"a": 1, "b": 2, "c": 3}})
        assert reply["payload"]["code"] == "invalid_payload"
        assert "`c`" in reply["payload"]["message"]


async def test_a_crashing_handler_leaks_nothing_and_is_logged(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/boom") as p:
        reply = await p.ask({"type": "boom", "id": 9})
        assert reply == {
            "type": "error",
            "payload": {"code": "internal_error", "message": "internal error"},
            "id": 9,
        }
        assert "hunter2" not in json.dumps(reply)
        assert (await p.ask({"type": "echo", "payload": 1}))["payload"] == 1
    assert "RuntimeError: database password is hunter2" in chat.log.getvalue()
    assert "Traceback" in chat.log.getvalue()


async def test_msgpack_subprotocol_gets_binary_msgpack_frames(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/mp", subprotocols=["pachinko.msgpack"]) as p:
        assert p.ws.subprotocol == "pachinko.msgpack"
        await p.send(msgspec.msgpack.encode({"type": "add", "payload": {"a": 4, "b": 5}, "id": 1}))
        raw = await p.recv()
        assert isinstance(raw, bytes)
        assert msgspec.msgpack.decode(raw) == {"type": "add.reply", "payload": {"sum": 9}, "id": 1}
        await p.send(b"\xc1")  # never valid msgpack
        error = msgspec.msgpack.decode(await p.recv())
        assert error["payload"]["code"] == "invalid_json"


async def test_json_subprotocol_is_accepted_by_name(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/js", subprotocols=["pachinko.json"]) as p:
        assert p.ws.subprotocol == "pachinko.json"
        assert (await p.ask({"type": "echo", "payload": "x"}))["payload"] == "x"


async def test_path_converters_type_the_params(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/items/42") as p:
        assert await p.ask({"type": "item.get", "payload": 1}) == {
            "type": "item.get.reply",
            "payload": {"item": 1, "item_id": 42},
        }
    with pytest.raises(InvalidStatus) as refused:
        async with peer(chat.url + "/ws/items/not-a-number"):
            pass
    assert refused.value.response.status_code == 403


async def test_on_unhandled_gets_raw_frames_and_send_raw_echoes_them(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/raw") as p:
        await p.send("not json at all")
        assert await p.ws.recv() == "not json at all"
        await p.send(b"\x00\x01binary")
        assert await p.ws.recv() == b"\x00\x01binary"
        await p.send('{"type": "nobody"}')
        assert await p.ws.recv() == '{"type": "nobody"}'
        assert (await p.ask({"type": "echo", "payload": 3}))["payload"] == 3


async def test_resource_handlers_by_decorator_and_by_naming_convention(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/items/3") as p:
        assert (await p.ask({"type": "item.get", "payload": 8}))["payload"]["item"] == 8
        for spelling in ("sendMessage", "send-message", "send.message", "send_message"):
            reply = await p.ask({"type": spelling, "id": spelling})
            assert reply == {"type": f"{spelling}.reply", "payload": "convention", "id": spelling}


async def test_a_manifest_entry_wins_over_the_resource_method(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/items/3") as p:
        assert (await p.ask({"type": "overridden"}))["payload"] == "from the manifest"
