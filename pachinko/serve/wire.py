"""The WebSocket wire on `websockets`' sans-I/O core: the opening handshake, messages,
and frames built once for many connections (`pachinko.wire`)."""

from __future__ import annotations

import asyncio
import codecs
import logging
import struct
from typing import Any, Protocol

from websockets.datastructures import Headers
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from pachinko.serve.gate import OPEN, Disconnected
from pachinko.serve.handshake import BadRequest, Head

# NOTE: websockets logs every open and close at INFO; only its warnings matter here.
wire_log = logging.getLogger("pachinko.wire")
wire_log.setLevel(logging.WARNING)

TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


def open_websocket(
    head: Head,
    subprotocol: str | None,
    headers: list[tuple[bytes, bytes]],
    *,
    max_message_bytes: int,
    compression: str,
) -> tuple[bytes, ServerProtocol]:
    """The 101 response to a checked upgrade, and the sans-I/O core of the open connection.

    Raises:
        BadRequest: the core refuses the handshake.
    """
    factories = [ServerPerMessageDeflateFactory()] if compression == "deflate" else None
    handshake = ServerProtocol(
        extensions=factories,
        select_subprotocol=lambda _protocol, _offered: subprotocol,
        logger=wire_log,
    )
    request = Request(
        head.target.decode("latin-1"),
        Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers]),
    )
    response = handshake.accept(request)
    if response.status_code != 101:
        raise BadRequest(response.status_code, "WebSocket handshake refused")
    for name, value in headers:
        response.headers[name.decode("latin-1")] = value.decode("latin-1")
    handshake.send_response(response)
    # NOTE: a second core that starts OPEN, so its parser reads frames, not a request;
    # it takes the extensions (permessage-deflate) the handshake negotiated.
    ws = ServerProtocol(state=State.OPEN, max_size=max_message_bytes, logger=wire_log)
    ws.extensions = handshake.extensions
    return b"".join(handshake.data_to_send()), ws


class Assembler:
    """Whole messages as ASGI events from the core's frames; UTF-8 checked as it arrives."""

    __slots__ = ("fragments", "utf8")

    def __init__(self) -> None:
        self.fragments: list[bytes] | None = None
        self.utf8: codecs.IncrementalDecoder | None = None

    def events(self, ws: ServerProtocol) -> list[dict[str, Any]]:
        """The messages completed by the frames just parsed; invalid UTF-8 fails with 1007."""
        out: list[dict[str, Any]] = []
        for frame in ws.events_received():
            opcode = frame.opcode
            if opcode is TEXT or opcode is BINARY:
                if frame.fin:
                    if opcode is BINARY:
                        out.append({"type": "websocket.receive", "bytes": bytes(frame.data)})
                        continue
                    try:
                        out.append({"type": "websocket.receive", "text": frame.data.decode()})
                    except UnicodeDecodeError:
                        ws.fail(1007, "invalid UTF-8")
                        break
                    continue
                self.fragments = []
                self.utf8 = codecs.getincrementaldecoder("utf-8")() if opcode is TEXT else None
            elif opcode is not CONT:
                continue  # NOTE: pings (the core answers), pongs, close: activity only
            assert self.fragments is not None  # the core rejects a stray continuation
            self.fragments.append(bytes(frame.data))
            if self.utf8 is not None:
                try:  # NOTE: fail fast, on the fragment that breaks UTF-8
                    self.utf8.decode(frame.data, frame.fin)
                except UnicodeDecodeError:
                    ws.fail(1007, "invalid UTF-8")
                    break
            if frame.fin:
                data, self.fragments = b"".join(self.fragments), None
                if self.utf8 is not None:
                    out.append({"type": "websocket.receive", "text": data.decode()})
                else:
                    out.append({"type": "websocket.receive", "bytes": data})
        return out


def data_frame(ws: ServerProtocol, text: str | None, data: bytes | None) -> bytes:
    """A server data frame built outside the core, for when its state forbids sending."""
    if text is not None:
        return Frame(TEXT, text.encode()).serialize(mask=False, extensions=ws.extensions)
    return Frame(BINARY, data or b"").serialize(mask=False, extensions=ws.extensions)


def message_frame(payload: str | bytes) -> bytes:
    """One whole server data frame, unmasked and uncompressed: text for `str`, binary for bytes.

    NOTE: server frames carry no mask, so these bytes are the same for every
    recipient of a broadcast: build them once, `Wire.write` them to each.
    """
    if isinstance(payload, str):
        data, first = payload.encode(), 0x81  # FIN + text
    else:
        data, first = bytes(payload), 0x82  # FIN + binary
    size = len(data)
    if size < 126:
        return bytes((first, size)) + data
    if size < 65_536:
        return struct.pack("!BBH", first, 126, size) + data
    return struct.pack("!BBQ", first, 127, size) + data


def is_wire_allowed(compression: str, head: Head) -> bool:
    """Whether frames built outside the core fit this connection: never when
    permessage-deflate may be negotiated (configured and offered by the client)."""
    if compression != "deflate":
        return True
    return not any(
        name == b"sec-websocket-extensions" and b"permessage-deflate" in value.lower()
        for name, value in head.headers
    )


class Writer(Protocol):
    """What `Wire` needs of a connection: its phase, its transport, its flow control."""

    phase: int
    is_paused: bool
    transport: asyncio.Transport

    async def wait_writable(self) -> None: ...


class Wire:
    """The `pachinko.wire` extension of one connection: write prebuilt frames to it.

    Present in the scope only when the connection never compresses. `write`
    never waits: the frame goes to the transport behind everything this
    connection sent before (ASGI sends, pings, other frames), and a paused
    transport keeps it queued. Its result says whether the transport is still
    below its high-water mark; the app applies its own `send_queue` and
    `send_timeout` rules with `is_paused` and `drained()`.
    """

    __slots__ = ("connection",)

    def __init__(self, connection: Writer) -> None:
        self.connection = connection

    def frame(self, payload: str | bytes) -> bytes:
        """The frame bytes for `payload`, the same for every connection (`message_frame`)."""
        return message_frame(payload)

    def write(self, frame: bytes) -> bool:
        """Write `frame` (from `message_frame`) in order; False when the transport is paused.

        Raises:
            Disconnected: the WebSocket is not open (not yet accepted, closing or closed).
        """
        connection = self.connection
        if connection.phase != OPEN:
            raise Disconnected("the WebSocket is not open")
        connection.transport.write(frame)
        return not connection.is_paused

    @property
    def is_paused(self) -> bool:
        """Whether the peer is behind: the transport's buffer is over its high-water mark."""
        return self.connection.is_paused

    async def drained(self) -> None:
        """Wait until the transport is below its high-water mark again.

        Raises:
            Disconnected: the connection was lost meanwhile.
        """
        if self.connection.is_paused:
            await self.connection.wait_writable()
