"""Frames built once for many connections (`pachinko.wire`): their bytes and their writer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

from pachinko.serve.gate import CLOSING, CONNECTING, OPEN, Disconnected
from pachinko.serve.handshake import parse_head
from pachinko.serve.wire import Wire, is_wire_allowed, message_frame

SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]


@pytest.mark.parametrize("size", SIZES)
def test_a_text_frame_is_what_the_core_would_write(size: int) -> None:
    text = "é" * (size // 2) + "x" * (size % 2)
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert message_frame(text) == expected


@pytest.mark.parametrize("size", SIZES)
def test_a_binary_frame_is_what_the_core_would_write(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = Frame(Opcode.BINARY, data).serialize(mask=False, extensions=[])
    assert message_frame(data) == expected


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class Connection:
    """Stands in for `PachinkoProtocol`: the fields `Wire` documents it needs."""

    def __init__(self) -> None:
        self.phase = OPEN
        self.is_paused = False
        self.transport: Any = Transport()
        self.waited = 0

    async def wait_writable(self) -> None:
        self.waited += 1


def test_writes_go_to_the_transport_in_order_and_say_when_it_is_paused() -> None:
    connection = Connection()
    wire = Wire(connection)  # type: ignore[arg-type]
    assert wire.write(b"one") is True
    connection.is_paused = True
    assert wire.write(b"two") is False  # NOTE: queued behind the backlog, not dropped
    assert wire.is_paused
    assert connection.transport.written == [b"one", b"two"]


@pytest.mark.parametrize("phase", [CONNECTING, CLOSING])
def test_writing_outside_the_open_phase_is_refused(phase: int) -> None:
    connection = Connection()
    connection.phase = phase
    with pytest.raises(Disconnected):
        Wire(connection).write(b"x")  # type: ignore[arg-type]
    assert connection.transport.written == []


def test_drained_waits_only_while_paused() -> None:
    connection = Connection()
    wire = Wire(connection)  # type: ignore[arg-type]
    asyncio.run(wire.drained())
    connection.is_paused = True
    asyncio.run(wire.drained())
    assert connection.waited == 1


UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
)
DEFLATE = b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


def test_the_wire_is_offered_unless_deflate_may_be_negotiated() -> None:
    assert is_wire_allowed("off", parse_head(UPGRADE + DEFLATE))
    assert is_wire_allowed("deflate", parse_head(UPGRADE))
    assert not is_wire_allowed("deflate", parse_head(UPGRADE + DEFLATE))
