"""`WebSocketSimulator`: the app driven in-process through ASGI, as uvicorn would drive it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

import pachinko
from pachinko.testing import (
    Frame,
    HandshakeRejected,
    ReceiveTimeout,
    WebSocketClosed,
    WebSocketSimulator,
)

HERE = Path(__file__).parent
KIT = HERE / "apps" / "kit" / "pachinko.toml"
STRICT = HERE / "apps" / "strict" / "pachinko.toml"
E2E = HERE.parent.parent / "e2e" / "apps" / "pachinko.toml"


def kit_events() -> list[str]:
    return sys.modules["kit_app"].EVENTS


async def test_replies_carry_the_reply_type_and_the_message_id() -> None:
    async with WebSocketSimulator(E2E) as sim, sim.connect("/ws/chat/replies") as conn:
        await conn.send_message("add", {"a": 2, "b": 3}, id=7)
        assert await conn.receive_json() == {"type": "add.reply", "payload": {"sum": 5}, "id": 7}
        await conn.send_json({"type": "echo", "payload": "hi", "id": "x"})
        assert await conn.receive_json() == {"type": "echoed", "payload": "hi", "id": "x"}
        await conn.send_message("twice", id=1)
        assert [(await conn.receive_json())["payload"] for _ in range(2)] == ["first", "second"]


async def test_error_frames_answer_bad_messages_and_leak_nothing() -> None:
    async with WebSocketSimulator(E2E) as sim, sim.connect("/ws/chat/errors") as conn:
        await conn.send_text("{not json")
        assert (await conn.receive_json())["payload"]["code"] == "invalid_json"
        await conn.send_json([1, 2])
        assert (await conn.receive_json())["payload"]["code"] == "invalid_envelope"
        await conn.send_message("nope", id=1)
        unknown = await conn.receive_json()
        assert (unknown["payload"]["code"], unknown["id"]) == ("unknown_type", 1)
        await conn.send_message("add", {"a": 1, "b": "two"}, id=2)
        invalid = await conn.receive_json()
        assert invalid["payload"]["code"] == "invalid_payload"
        assert "$.payload.b" in invalid["payload"]["message"]
        await conn.send_message("boom", id=3)
        boom = await conn.receive_json()
        assert boom == {
            "type": "error",
            "payload": {"code": "internal_error", "message": "internal error"},
            "id": 3,
        }
        assert not conn.is_closed


async def test_two_simulated_clients_share_a_room() -> None:
    async with WebSocketSimulator(E2E) as sim, sim.connect("/ws/chat/lobby") as alice:
        await alice.send_message("whoami", id=1)
        me = await alice.receive_json()
        async with sim.connect("/ws/chat/lobby") as bob:
            joined = await alice.receive_json()
            assert joined["type"] == "presence.join"
            bob_id = joined["payload"]["connection"]
            assert bob_id != me["payload"]["id"]
            await bob.send_message("say", {"text": "hello"})
            said = {"type": "said", "payload": {"text": "hello", "by": bob_id}}
            assert await alice.receive_json() == said
            assert await bob.receive_json() == said
            await bob.send_message("say_others", {"text": "psst"})
            assert (await alice.receive_json())["payload"] == {"text": "psst"}
            await bob.expect_no_frame(0.05)
        left = await alice.receive_json()
        assert left["type"] == "presence.leave"
        assert left["payload"]["connection"] == bob_id


async def test_a_new_member_first_receives_the_room_history() -> None:
    async with WebSocketSimulator(KIT) as sim:
        async with sim.connect("/ws/room/hist") as first:
            for text in ("a", "b", "c"):
                await first.send_message("say", text)
                await first.receive_json()
        async with sim.connect("/ws/room/hist") as late:
            history = [(await late.receive_json())["payload"]["text"] for _ in range(2)]
            assert history == ["b", "c"]


async def test_an_oversized_frame_closes_with_1009() -> None:
    async with WebSocketSimulator(STRICT) as sim, sim.connect("/echo") as conn:
        await conn.send_text("x" * 65)
        assert await conn.wait_closed() == 1009
        with pytest.raises(WebSocketClosed) as closed:
            await conn.send_text("again")
        assert closed.value.code == 1009


async def test_rate_abuse_is_refused_then_closed_with_1008() -> None:
    async with WebSocketSimulator(STRICT) as sim, sim.connect("/echo") as conn:
        for i in range(6):
            await conn.send_message("echo", i, id=i)
        replies = [await conn.receive_json() for _ in range(5)]
        assert [r["payload"] for r in replies[:3]] == [0, 1, 2]
        assert [r["payload"]["code"] for r in replies[3:]] == ["rate_limited"] * 2
        assert await conn.wait_closed() == 1008


async def test_an_application_close_code_and_reason_reach_the_client() -> None:
    async with WebSocketSimulator(KIT) as sim, sim.connect("/ws/echo") as conn:
        await conn.send_message("bye")
        assert await conn.wait_closed() == 4001
        assert conn.close_reason == "bye"


async def test_a_refused_handshake_raises_with_http_403() -> None:
    async with WebSocketSimulator(KIT) as sim:
        with pytest.raises(HandshakeRejected) as refused:
            await sim.connect("/ws/guarded")
        assert refused.value.status == 403
        async with sim.connect("/ws/guarded?token=secret") as conn:
            await conn.send_message("echo", 1)
            assert (await conn.receive_json())["payload"] == 1
        with pytest.raises(HandshakeRejected):
            await sim.connect("/ws/no/such/route")


async def test_resource_refusal_and_unknown_paths_are_403() -> None:
    async with WebSocketSimulator(E2E) as sim:
        with pytest.raises(HandshakeRejected) as refused:
            await sim.connect("/ws/items/3?deny=1")
        assert refused.value.status == 403
        async with sim.connect("/ws/items/3") as conn:
            await conn.send_message("item.get", 5, id=1)
            assert (await conn.receive_json())["payload"] == {"item": 5, "item_id": 3}


async def test_origin_is_checked_against_the_host_header() -> None:
    async with WebSocketSimulator(KIT) as sim:
        async with sim.connect("/ws/echo", origin="http://testserver"):
            pass
        with pytest.raises(HandshakeRejected) as refused:
            await sim.connect("/ws/echo", origin="https://evil.example")
        assert refused.value.status == 403
        async with sim.connect(
            "/ws/echo", headers={"Host": "chat.example"}, origin="https://chat.example"
        ):
            pass


async def test_subprotocols_negotiate_the_codec() -> None:
    async with WebSocketSimulator(KIT) as sim:
        async with sim.connect("/ws/echo", subprotocols=["chat.v2", "pachinko.msgpack"]) as conn:
            assert conn.subprotocol == "pachinko.msgpack"
            await conn.send_message("echo", {"n": 1}, id=1)
            frame = await conn.receive()
            assert frame.kind == "binary"
            assert frame.payload == {"type": "echoed", "payload": {"n": 1}, "id": 1}
        async with sim.connect("/ws/echo") as conn:
            assert conn.subprotocol is None


def test_the_scope_is_what_a_server_would_build() -> None:
    sim = WebSocketSimulator(KIT, host="chat.example:8080")
    scope = sim.scope(
        "/ws/room/caf%C3%A9?x=1",
        headers=[("X-Token", "t")],
        subprotocols=["pachinko.json"],
        origin="http://chat.example:8080",
    )
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["path"] == "/ws/room/café"
    assert scope["raw_path"] == b"/ws/room/caf%C3%A9"
    assert scope["query_string"] == b"x=1"
    assert scope["server"] == ("chat.example", 8080)
    assert scope["subprotocols"] == ["pachinko.json"]
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"chat.example:8080"
    assert headers[b"origin"] == b"http://chat.example:8080"
    assert headers[b"sec-websocket-protocol"] == b"pachinko.json"
    assert headers[b"x-token"] == b"t"


async def test_path_params_and_query_reach_the_handler() -> None:
    async with WebSocketSimulator(E2E) as sim, sim.connect("/ws/chat/caf%C3%A9?x=1") as conn:
        await conn.send_message("whoami", id=1)
        assert (await conn.receive_json())["payload"]["params"] == {"room": "café"}


async def test_lifespan_runs_around_the_simulator_and_disconnects_are_seen() -> None:
    sim = WebSocketSimulator(KIT)
    kit_events().clear()
    async with sim:
        async with sim.connect("/ws/room/life") as conn:
            await conn.close(4321)
        assert conn.close_code == 4321
    assert kit_events() == ["started", "left 4321", "stopped"]


async def test_a_manifest_object_or_a_built_app_can_be_simulated() -> None:
    for app in (pachinko.load(KIT), pachinko.build(KIT)):
        async with WebSocketSimulator(app) as sim, sim.connect("/ws/echo") as conn:
            await conn.send_message("add", {"a": 1, "b": 1})
            assert (await conn.receive_json())["payload"] == 2


async def test_connect_without_entering_starts_the_simulator_lazily() -> None:
    before = asyncio.all_tasks()
    sim = WebSocketSimulator(KIT)
    conn = await sim.connect("/ws/echo")
    assert sim.is_started
    await conn.send_message("echo", "lazy")
    assert (await conn.receive_json())["payload"] == "lazy"
    await sim.aclose()
    assert conn.close_code == 1000
    assert asyncio.all_tasks() == before


async def test_a_receive_timeout_shows_the_frames_seen_so_far() -> None:
    async with WebSocketSimulator(KIT) as sim, sim.connect("/ws/echo") as conn:
        await conn.send_message("echo", "ping", id=1)
        await conn.receive_json()
        with pytest.raises(ReceiveTimeout) as timeout:
            await conn.receive_json(timeout=0.02)
        message = str(timeout.value)
        assert "no frame from /ws/echo within 0.02s" in message
        assert ">> text   {'type': 'echo', 'payload': 'ping', 'id': 1}" in message
        assert "<< text   {'type': 'echoed', 'payload': 'ping', 'id': 1}" in message


async def test_a_test_failing_midway_leaves_no_task_behind() -> None:
    before = asyncio.all_tasks()
    sim = WebSocketSimulator(E2E)

    async def failing_test() -> None:
        async with sim:
            a = await sim.connect("/ws/chat/leak")
            await sim.connect("/ws/chat/leak")
            await a.receive_json()  # presence.join
            assert len(asyncio.all_tasks()) > len(before)  # the app is running
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await failing_test()
    assert asyncio.all_tasks() == before
    assert sim.connections == []


async def test_the_websocket_http_response_extension_gives_the_status() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"who are you"})

    async with WebSocketSimulator(app, lifespan=False) as sim:
        with pytest.raises(HandshakeRejected) as refused:
            await sim.connect("/")
    assert (refused.value.status, refused.value.body) == (401, b"who are you")


async def test_an_app_crash_before_the_handshake_is_a_500_and_is_reraised() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("broken app")

    sim = WebSocketSimulator(app, lifespan=False)
    with pytest.raises(HandshakeRejected) as refused:
        await sim.connect("/")
    assert refused.value.status == 500
    assert isinstance(refused.value.__cause__, RuntimeError)
    await sim.aclose()


def test_a_frame_decodes_its_payload_and_prints_one_line() -> None:
    text = Frame(0, "sent", "text", '{"type": "a"}')
    assert text.payload == text.json() == {"type": "a"}
    assert str(text) == "#0   >> text   {'type': 'a'}"
    binary = Frame(1, "received", "binary", msgspec.msgpack.encode([1]))
    assert binary.payload == [1]
    with pytest.raises(ValueError, match="binary frame, not JSON"):
        binary.json()
    assert Frame(2, "received", "text", "plain").payload == "plain"
    assert str(Frame(3, "received", "close", "bye", 4001)).endswith(
        "{'code': 4001, 'reason': 'bye'}"
    )


def test_the_errors_are_the_builtin_kinds_too() -> None:
    assert issubclass(ReceiveTimeout, TimeoutError)
    assert issubclass(WebSocketClosed, ConnectionError)
    assert issubclass(HandshakeRejected, pachinko.PachinkoError)


async def test_a_server_close_left_unread_is_still_traced_on_exit() -> None:
    async with WebSocketSimulator(KIT) as sim:
        async with sim.connect("/ws/echo") as conn:
            await conn.send_message("bye")
            await conn.wait_app()  # the app closed and is done; the test read nothing
        assert conn.close_code == 4001
        assert conn.frames[-1].direction == "received"


async def test_sending_after_the_server_closed_raises_with_its_code() -> None:
    async with WebSocketSimulator(KIT) as sim, sim.connect("/ws/echo") as conn:
        await conn.send_message("bye")
        await conn.wait_app()
        with pytest.raises(WebSocketClosed) as closed:
            await conn.send_text("anyone?")
        assert closed.value.code == 4001
