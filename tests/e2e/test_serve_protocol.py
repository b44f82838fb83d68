"""The limits `pachinko serve`'s own protocol enforces, shown from a raw socket or a real client."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Iterator

import pytest
from probes import RawClient, frame, upgrade_request
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import pachinko
from pachinko.testing import LiveServer

LIMITS = pachinko.Limits(
    max_message_bytes=65_536,
    rate_count=0,
    send_timeout=0.5,
    ping_interval=0.3,
    handshake_timeout=0.5,
    max_header_bytes=4096,
    max_connections=4,
)


async def echo(conn: pachinko.Connection, payload: object) -> object:
    return payload


def make_app(limits: pachinko.Limits = LIMITS) -> pachinko.App:
    router = pachinko.WebSocketRouter(limits=limits, allowed_origins=["*"])
    router.add_route("/echo", messages={"echo": echo})
    return pachinko.App(router=router)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(make_app()) as live:
        yield live


@pytest.fixture(scope="module")
def deflating() -> Iterator[LiveServer]:
    with LiveServer(make_app(), compression="deflate") as live:
        yield live


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; return everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(timeout):
            return await reader.read()
    finally:
        writer.transport.abort()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


async def test_a_header_block_over_max_header_bytes_gets_431_before_the_app(
    server: LiveServer,
) -> None:
    request = upgrade_request("/echo", extra="X-Pad: " + "a" * 5000 + "\r\n")
    assert status_of(await exchange(server.port, request)) == 431


async def test_an_http10_upgrade_is_refused_with_400(server: LiveServer) -> None:
    request = upgrade_request("/echo").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    assert status_of(await exchange(server.port, request)) == 400


@pytest.mark.parametrize(
    "key", ["not base64!", "c2hvcnQ=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""], ids=repr
)
async def test_a_malformed_sec_websocket_key_is_refused_with_400(
    server: LiveServer, key: str
) -> None:
    assert status_of(await exchange(server.port, upgrade_request("/echo", key=key))) == 400


async def test_a_socket_that_never_completes_its_upgrade_is_closed_at_the_timeout(
    server: LiveServer,
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Half a request line, then silence: the server must hang up on its own.
    assert await exchange(server.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n", timeout=5) == b""
    assert 0.5 <= loop.time() - started < 3.0


async def test_connections_beyond_max_connections_get_503_and_one_log_line() -> None:
    with LiveServer(make_app()) as live:
        clients = [await RawClient.connect(live.port, "/echo") for _ in range(4)]
        try:
            assert [c.status for c in clients] == [101] * 4
            refused = await RawClient.connect(live.port, "/echo")
            refused.close()
            assert refused.status == 503
            assert live.log.getvalue().count("refusing a connection with HTTP 503") == 1
        finally:
            for client in clients:
                client.close()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(0x1, b"hi", rsv=2), 1002),  # reserved bit without an extension
        (frame(0x3), 1002),  # reserved opcode
        (frame(0x0, b"x"), 1002),  # continuation with nothing to continue
        (frame(0x9, b"p", fin=False), 1002),  # fragmented control frame
        (frame(0x9, b"p" * 126), 1002),  # control frame over 125 bytes
        (b"\x81\x02hi", 1002),  # unmasked client frame
        (frame(0x8, b"\x03\xe8" + b"\xff"), 1007),  # close reason not UTF-8
        (frame(0x1, b"ok \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 1007),
        (frame(0x1, b"\xce", fin=False) + frame(0x0, b"\xff"), 1007),  # fragmented, bad
        (frame(0x2, b"x" * 70_000), 1009),  # frame over max_message_bytes
    ],
    ids=[
        "rsv",
        "opcode",
        "stray-continuation",
        "fragmented-ping",
        "long-ping",
        "unmasked",
        "close-reason",
        "utf8",
        "utf8-fragmented",
        "too-big",
    ],
)
async def test_protocol_errors_close_with_a_close_frame(
    server: LiveServer, data: bytes, code: int
) -> None:
    client = await RawClient.connect(server.port, "/echo")
    try:
        client.send(data)
        assert await client.close_code() == code
    finally:
        client.close()


async def test_a_peer_that_never_answers_pings_is_closed_with_1001(server: LiveServer) -> None:
    client = await RawClient.connect(server.port, "/echo")
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        pings = 0
        while True:  # read, never answer: a ping, then the close after its deadline
            _, opcode, payload = await client.read_frame(timeout=3)
            if opcode == 0x9:
                pings += 1
                continue
            assert opcode == 0x8
            assert struct.unpack("!H", payload[:2])[0] == 1001
            break
        assert pings >= 1
        # One interval to the ping, one to its deadline (counted from accept, just before).
        assert loop.time() - started >= 0.55
    finally:
        client.close()


async def test_compression_is_off_unless_the_manifest_asks_for_deflate(
    server: LiveServer, deflating: LiveServer
) -> None:
    async with connect(server.url + "/echo") as plain:  # the client offers deflate
        assert plain.response.headers.get("Sec-WebSocket-Extensions") is None
    async with connect(deflating.url + "/echo") as deflated:
        assert "permessage-deflate" in deflated.response.headers["Sec-WebSocket-Extensions"]
        await deflated.send(json.dumps({"type": "echo", "payload": "z" * 50_000}))
        assert json.loads(await deflated.recv())["payload"] == "z" * 50_000


async def test_compressed_traffic_under_the_limit_flows_and_one_byte_over_closes_1009(
    deflating: LiveServer,
) -> None:
    async with connect(deflating.url + "/echo", max_size=None) as ws:
        # Context takeover across messages, sizes up to the limit, and fragments.
        for n in range(40):
            text = f"{n} " + "abc" * (n * 500) + str(n) * 7
            await ws.send(json.dumps({"type": "echo", "payload": text}))
            assert json.loads(await ws.recv())["payload"] == text
        whole = json.dumps({"type": "echo", "payload": "q" * 60_000})
        assert len(whole) <= 65_536
        await ws.send(iter([whole[:20_000], whole[20_000:40_000], whole[40_000:]]))
        assert json.loads(await ws.recv())["payload"] == "q" * 60_000
        await ws.send(iter(["[", " " * 65_535, "]"]))  # 65,537 bytes once inflated
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


async def test_a_small_frame_inflating_past_the_limit_closes_with_1009(
    deflating: LiveServer,
) -> None:
    client = await RawClient.connect(
        deflating.port, "/echo", extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    try:
        deflate = zlib.compressobj(wbits=-15)
        bomb = deflate.compress(b"\0" * 10_000_000) + deflate.flush(zlib.Z_SYNC_FLUSH)
        assert len(bomb) < 65_536  # on the wire it is within max_message_bytes
        client.send(frame(0x2, bomb[:-4], rsv=4))
        assert await client.close_code() == 1009
    finally:
        client.close()


async def test_plain_http_on_the_same_port_is_served_by_uvicorn(server: LiveServer) -> None:
    response = await exchange(
        server.port, b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(response) == 404


async def test_an_upgrade_after_a_keep_alive_http_request_is_served(server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status_of(head) == 404
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if b"content-length" in line
        )
        await reader.readexactly(length)
        writer.write(upgrade_request("/echo"))  # the same connection, now a WebSocket
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status_of(head) == 101
        client = RawClient(reader, writer)
        client.send(frame(0x1, b'{"type": "echo", "payload": 1}'))
        assert json.loads((await client.read_frame())[2])["payload"] == 1
    finally:
        writer.transport.abort()


async def test_a_websocket_client_is_served(server: LiveServer) -> None:
    async with connect(server.url + "/echo", compression=None) as ws:
        for n in range(20):
            await ws.send(json.dumps({"type": "echo", "payload": n, "id": n}))
            assert json.loads(await ws.recv()) == {"type": "echo.reply", "payload": n, "id": n}
        await ws.close()
    with pytest.raises(ConnectionClosed):
        await ws.recv()
