"""Connections over a real server: refusal, on_disconnect, origins, shutdown, limits, flat."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from pathlib import Path

import pytest
from conftest import APPS, peer
from websockets.exceptions import InvalidStatus

import pachinko
from pachinko.testing import LiveServer


async def test_on_connect_false_refuses_the_handshake_with_403(chat: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with peer(chat.url + "/ws/items/1?deny=1"):
            pass
    assert refused.value.response.status_code == 403


async def test_on_disconnect_runs_with_the_client_close_code(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/items/7") as watcher:
        assert (await watcher.ask({"type": "watch", "id": 1}))["payload"] == "watching"
        async with peer(chat.url + "/ws/items/8") as leaver:
            await leaver.ws.close(code=4321)
        gone = await watcher.recv()
        assert gone["type"] == "gone"
        assert gone["payload"]["code"] == 4321


async def test_disallowed_origin_is_refused_before_accept(chat: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with peer(chat.url + "/ws/chat/o", origin="https://evil.test"):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["https://app.example.com", None])
async def test_allowed_origins_and_originless_clients_get_in(
    chat: LiveServer, origin: str | None
) -> None:
    async with peer(chat.url + "/ws/chat/o", origin=origin) as p:
        assert (await p.ask({"type": "echo", "payload": 1}))["payload"] == 1


async def test_same_origin_is_allowed(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/o", origin=chat.http_url) as p:
        assert (await p.ask({"type": "echo", "payload": 2}))["payload"] == 2


async def test_server_shutdown_closes_connections_with_1001() -> None:
    server = LiveServer(pachinko.build(APPS / "pachinko.toml")).start()
    try:
        async with peer(server.url + "/ws/chat/bye") as p:
            assert (await p.ask({"type": "echo", "payload": 1}))["payload"] == 1
            server.server.should_exit = True  # what SIGTERM does
            assert await p.closed() == 1001
    finally:
        server.stop()


@pytest.fixture(scope="module")
def limited() -> LiveServer:
    with LiveServer(pachinko.build(APPS / "limits" / "pachinko.toml")) as server:
        yield server


async def test_flat_envelope_in_and_out(limited: LiveServer) -> None:
    async with peer(limited.url + "/flat") as p:
        assert await p.ask({"type": "move", "x": 1, "y": 2, "id": 3}) == {
            "type": "move.reply",
            "x": 2,
            "y": 3,
            "id": 3,
        }
        assert await p.ask({"type": "echo", "id": 4}) == {"type": "echo.reply", "id": 4}
        # A reply that is not an object keeps its `payload` key.
        assert await p.ask({"type": "count", "a": 1, "b": 2, "id": 5}) == {
            "type": "count.reply",
            "payload": 2,
            "id": 5,
        }


async def test_flat_errors_are_flat_and_name_fields_at_the_top(limited: LiveServer) -> None:
    async with peer(limited.url + "/flat") as p:
        error = await p.ask({"type": "move", "x": "a", "y": 2, "id": 5})
        assert error["type"] == "error"
        assert error["code"] == "invalid_payload"
        assert "`$.x`" in error["message"]
        assert error["id"] == 5
        assert (await p.ask("[]"))["code"] == "invalid_envelope"


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "move", "x": 1, "y": 2, "id": "i" * 129},
        {"type": "m" * 129, "x": 1, "y": 2},
        {"type": "move", "x": 1, "y": 2, "id": 2**63},
    ],
    ids=["long-id", "long-type", "id-over-64-bits"],
)
async def test_flat_ids_and_types_are_bounded_too(limited: LiveServer, frame: object) -> None:
    async with peer(limited.url + "/flat") as p:
        error = await p.ask(frame)
        assert error["code"] == "invalid_envelope"
        assert "id" not in error
        assert len(error["message"]) < 200
        assert (await p.ask('{"type": "move", "x"'))["code"] == "invalid_json"


async def test_rate_limit_answers_then_closes_persistent_abuse_with_1008(
    limited: LiveServer,
) -> None:
    async with peer(limited.url + "/flat") as p:
        for n in range(10):
            await p.send({"type": "echo", "n": n})
        frames = []
        code = None
        while code is None:
            try:
                frames.append(await p.recv())
            except Exception:
                code = await p.closed()
        assert {"type": "error", "code": "rate_limited", "message": "too many messages"} in frames
        assert code == 1008


async def test_a_frame_over_max_message_bytes_closes_with_1009(limited: LiveServer) -> None:
    async with peer(limited.url + "/flat") as p:
        await p.send(json.dumps({"type": "echo", "blob": "x" * 300}))
        assert await p.closed() == 1009


def test_http_app_keeps_its_own_http_routes(limited: LiveServer) -> None:
    with urllib.request.urlopen(limited.http_url + "/health", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}


async def test_http_app_keeps_its_own_websocket_routes(limited: LiveServer) -> None:
    async with peer(limited.url + "/plain") as p:
        assert await p.ws.recv() == "plain falcon"


def test_connection_manager_is_reachable_on_an_extended_app() -> None:
    app = pachinko.build(APPS / "limits" / "pachinko.toml")
    assert not isinstance(app, pachinko.App)
    manager = pachinko.connection_manager(app)
    assert isinstance(manager, pachinko.WebSocketConnectionManager)
    assert pachinko.install(app) is manager  # idempotent


def test_built_app_exposes_its_manager() -> None:
    app = pachinko.build(Path(APPS / "pachinko.toml"))
    assert isinstance(app, pachinko.App)
    assert app.ws_connection_manager is pachinko.connection_manager(app)


async def test_an_idle_connection_is_closed_with_1001_and_activity_keeps_it_open() -> None:
    with LiveServer(pachinko.build(APPS / "idle" / "pachinko.toml")) as server:
        async with peer(server.url + "/idle") as busy, peer(server.url + "/idle") as idle:
            loop = asyncio.get_running_loop()
            started = loop.time()
            closed = asyncio.ensure_future(idle.closed())
            # `busy` talks every 100 ms, well inside the 300 ms idle timeout.
            while not closed.done():
                assert (await busy.ask({"type": "echo", "payload": 1}))["payload"] == 1
                await asyncio.wait([closed], timeout=0.1)
            assert closed.result() == 1001
            assert loop.time() - started >= 0.3
            assert (await busy.ask({"type": "echo", "payload": 2}))["payload"] == 2


async def test_pongs_count_as_activity_under_pachinko_serve() -> None:
    with LiveServer(pachinko.build(APPS / "pongs" / "pachinko.toml")) as server:
        async with peer(server.url + "/quiet") as quiet:
            # Sends nothing for three idle timeouts; its client answers the server's
            # pings every 100 ms, and those pongs keep it open.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(quiet.ws.recv(), 1.2)
            assert (await quiet.ask({"type": "echo", "payload": "still here"}))["payload"] == (
                "still here"
            )


async def never_reading_client(port: int, path: str) -> socket.socket:
    """A WebSocket handshake over a socket with a small receive buffer, then no reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await loop.sock_recv(sock, 1)  # byte by byte: nothing past the headers
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_a_slow_consumer_is_dropped_with_1013_and_others_are_served() -> None:
    with LiveServer(pachinko.build(APPS / "slow" / "pachinko.toml")) as server:
        async with peer(server.url + "/talk") as talker:
            slow = await never_reading_client(server.port, "/listen")
            try:
                # 200 frames of 64 KiB: far more than the socket buffers can hold.
                await talker.send({"type": "flood", "payload": 200, "id": 1})
                frames = {
                    frame["type"]: frame for frame in [await talker.recv(), await talker.recv()]
                }
                assert frames["flood.reply"] == {"type": "flood.reply", "payload": 200, "id": 1}
                assert frames["gone"]["payload"]["code"] == 1013
                echo = await talker.ask({"type": "echo", "payload": "still served", "id": 2})
                assert echo["payload"] == "still served"
            finally:
                slow.close()
