"""RFC 6455 conformance of `pachinko serve`'s protocol, from a raw socket.

The Autobahn testsuite (`autobahntestsuite` on PyPI) is Python 2 code and cannot
run on this project's Python 3 machines, so these cases cover what its core
sections check: framing (1), pings and pongs (2), reserved bits (3), opcodes (4),
fragmentation (5), UTF-8 (6) and the closing handshake, frames after a close
included (7). An echo route answers every frame verbatim.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Iterator

import pytest
from probes import RawClient, frame

import pachinko
from pachinko.testing import LiveServer

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class Echo(pachinko.WebSocketResource):
    """Answers every frame with itself: text for text, binary for binary."""

    async def on_unhandled(self, conn: pachinko.Connection, raw: str | bytes) -> None:
        await conn.send_raw(raw)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    limits = pachinko.Limits(rate_count=0, max_message_bytes=16 * 2**20, ping_interval=0)
    router = pachinko.WebSocketRouter(limits=limits, allowed_origins=["*"])
    router.add_route("/echo", Echo)
    with LiveServer(pachinko.App(router=router)) as live:
        yield live


@contextlib.asynccontextmanager
async def session(server: LiveServer) -> AsyncIterator[RawClient]:
    """A raw client upgraded on the echo route, reset at the end."""
    client = await RawClient.connect(server.port, "/echo")
    try:
        assert client.status == 101
        yield client
    finally:
        client.close()


async def ends_with_close(client: RawClient, code: int | None) -> None:
    """The next frame is a close with `code` (None: empty payload), then TCP ends."""
    _, opcode, payload = await client.read_frame()
    assert opcode == CLOSE, (opcode, payload[:40])
    assert (struct.unpack("!H", payload[:2])[0] if payload else None) == code
    assert await client.reader.read() == b""  # nothing after the close, then EOF


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return frame(CLOSE, struct.pack("!H", code) + reason)


# -- 1. framing --------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 128, 65_535, 65_536, 1_000_000])
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
async def test_frames_of_every_length_encoding_echo(
    server: LiveServer, opcode: int, size: int
) -> None:
    async with session(server) as client:
        payload = b"*" * size
        client.send(frame(opcode, payload))
        assert await client.read_frame() == (True, opcode, payload)


async def test_a_frame_written_one_byte_at_a_time_echoes(server: LiveServer) -> None:
    async with session(server) as client:
        for byte in frame(TEXT, b"chopped " * 40):
            client.send(bytes([byte]))
            await client.writer.drain()
        assert await client.read_frame() == (True, TEXT, b"chopped " * 40)


# -- 2. pings and pongs --------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"", b"\x00\xff\xfe binary", b"p" * 125])
async def test_a_ping_is_answered_by_a_pong_with_its_payload(
    server: LiveServer, payload: bytes
) -> None:
    async with session(server) as client:
        client.send(frame(PING, payload))
        assert await client.read_frame() == (True, PONG, payload)


async def test_unsolicited_pongs_are_ignored_and_ten_pings_get_ten_pongs(
    server: LiveServer,
) -> None:
    async with session(server) as client:
        client.send(frame(PONG, b"unasked") + b"".join(frame(PING, b"%d" % n) for n in range(10)))
        for n in range(10):
            assert await client.read_frame() == (True, PONG, b"%d" % n)


# -- 3, 4: reserved bits and opcodes --------------------------------------------------

VIOLATIONS = {
    **{f"rsv{r}-text": frame(TEXT, b"x", rsv=r) for r in range(1, 8)},
    "rsv-binary": frame(BINARY, b"x", rsv=1),
    "rsv-ping": frame(PING, b"x", rsv=2),
    "rsv-close": frame(CLOSE, struct.pack("!H", 1000), rsv=4),
    **{f"opcode-{op:x}": frame(op, b"x") for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)},
    "ping-126": frame(PING, b"p" * 126),
    "ping-fragmented": frame(PING, b"p", fin=False) + frame(CONT, b"q"),
    "stray-continuation": frame(CONT, b"x"),
    "text-inside-text": frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"),
    "close-1-byte": frame(CLOSE, b"\x03"),
}


@pytest.mark.parametrize("data", VIOLATIONS.values(), ids=VIOLATIONS.keys())
async def test_a_protocol_violation_after_a_good_frame_closes_with_1002(
    server: LiveServer, data: bytes
) -> None:
    async with session(server) as client:
        client.send(frame(TEXT, b"before") + data + frame(TEXT, b"never echoed"))
        assert await client.read_frame() == (True, TEXT, b"before")
        await ends_with_close(client, 1002)


# -- 5. fragmentation ------------------------------------------------------------------


async def test_fragmented_messages_are_delivered_whole_with_pings_in_between(
    server: LiveServer,
) -> None:
    async with session(server) as client:
        client.send(
            frame(TEXT, b"frag", fin=False)
            + frame(PING, b"between")
            + frame(CONT, b"ment", fin=False)
            + b"".join(frame(CONT, bytes([c]), fin=False) for c in b"ed!")
            + frame(CONT, b"")
            + frame(BINARY, b"\x01", fin=False)
            + frame(CONT, b"\x02")
        )
        assert await client.read_frame() == (True, PONG, b"between")
        assert await client.read_frame() == (True, TEXT, b"fragmented!")
        assert await client.read_frame() == (True, BINARY, b"\x01\x02")


# -- 6. UTF-8 ------------------------------------------------------------------------

VALID = "κόσμε · 𝄞 · \u0000 · \uffff · \U0010ffff".encode()


async def test_valid_utf8_echoes_whole_or_split_inside_code_points(server: LiveServer) -> None:
    async with session(server) as client:
        client.send(frame(TEXT, VALID))
        assert await client.read_frame() == (True, TEXT, VALID)
        client.send(
            frame(TEXT, VALID[:1], fin=False)
            + b"".join(frame(CONT, bytes([b]), fin=False) for b in VALID[1:])
            + frame(CONT, b"")
        )
        assert await client.read_frame() == (True, TEXT, VALID)


INVALID_UTF8 = {
    "lone-continuation": b"\x80",
    "overlong": b"\xc0\xaf",
    "surrogate": b"\xed\xa0\x80",
    "above-u10ffff": b"\xf4\x90\x80\x80",
    "f5": b"\xf5",
    "truncated": b"\xce",
    "in-the-middle": b"abc\xce\xba\xff def",
}


@pytest.mark.parametrize("data", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
async def test_invalid_utf8_closes_with_1007(server: LiveServer, data: bytes) -> None:
    async with session(server) as client:
        client.send(frame(TEXT, data))
        await ends_with_close(client, 1007)


async def test_invalid_utf8_in_a_fragment_fails_before_the_message_ends(
    server: LiveServer,
) -> None:
    async with session(server) as client:
        client.send(frame(TEXT, b"ok ", fin=False) + frame(CONT, b"\xf4\x90", fin=False))
        await ends_with_close(client, 1007)  # the final fragment was never sent


# -- 7. the closing handshake -------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
async def test_a_close_with_a_valid_code_is_echoed_then_tcp_ends(
    server: LiveServer, code: int
) -> None:
    async with session(server) as client:
        client.send(close_frame(code, b"bye " * 30))
        await ends_with_close(client, code)


async def test_an_empty_close_is_answered_with_an_empty_close(server: LiveServer) -> None:
    async with session(server) as client:
        client.send(frame(CLOSE))
        await ends_with_close(client, None)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000])
async def test_a_close_with_an_invalid_code_is_a_protocol_error(
    server: LiveServer, code: int
) -> None:
    async with session(server) as client:
        client.send(close_frame(code))
        await ends_with_close(client, 1002)


async def test_a_close_reason_that_is_not_utf8_closes_with_1007(server: LiveServer) -> None:
    async with session(server) as client:
        client.send(close_frame(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))
        await ends_with_close(client, 1007)


AFTER_CLOSE = {
    "text": frame(TEXT, b"after"),
    "ping": frame(PING, b"after"),
    "fragment-close-continuation": b"",  # Autobahn 7.1.5
}


@pytest.mark.parametrize("after", AFTER_CLOSE.values(), ids=AFTER_CLOSE.keys())
async def test_frames_after_a_close_are_never_answered(server: LiveServer, after: bytes) -> None:
    async with session(server) as client:
        if after:
            client.send(close_frame(1000) + after)
            await ends_with_close(client, 1000)
        else:
            client.send(frame(TEXT, b"frag", fin=False) + close_frame(1000) + frame(CONT, b"ment"))
            # A close inside a fragmented message: no message is delivered, and the
            # continuation after the close is ignored.
            _, opcode, payload = await client.read_frame()
            assert opcode == CLOSE
            assert struct.unpack("!H", payload[:2])[0] in (1000, 1002)
            assert await client.reader.read() == b""


async def test_a_large_message_then_a_close_gets_the_echo_then_the_close(
    server: LiveServer,
) -> None:
    async with session(server) as client:
        client.send(frame(BINARY, b"\xfe" * 200_000) + close_frame(1000))
        assert await client.read_frame() == (True, BINARY, b"\xfe" * 200_000)
        await ends_with_close(client, 1000)


async def test_many_connections_echo_concurrently(server: LiveServer) -> None:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(session(server)) for _ in range(20)]
        for n, client in enumerate(clients):
            client.send(frame(TEXT, b"%d" % n))
        replies = await asyncio.gather(*(client.read_frame() for client in clients))
        assert replies == [(True, TEXT, b"%d" % n) for n in range(20)]
