"""`Gate`: the first phase of every `pachinko serve` connection, up to a valid upgrade."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from pachinko.serve.handshake import BadRequest, Head, check_upgrade, parse_head, refusal
from pachinko.serve.settings import Registry, ServeSettings

HEAD, CONNECTING, OPEN, CLOSING, REFUSED, DONE = range(6)


class Gate(asyncio.Protocol):
    """A connection until its request head is read: the limits no app code sees.

    Over `max_connections` (or near the descriptor limit): 503. A head over
    `max_header_bytes`: 431. No upgrade within `handshake_timeout`: closed. A
    malformed head or upgrade: 400 (426 for a wrong WebSocket version). A plain
    HTTP request goes to uvicorn's HTTP protocol; a valid upgrade to `_start`.
    """

    def __init__(
        self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None
    ) -> None:
        self.config = config
        self.settings: ServeSettings = config.settings
        self.registry: Registry = config.registry
        self.server_state = server_state
        self.app_state = app_state
        self.loop: asyncio.AbstractEventLoop = _loop or asyncio.get_event_loop()
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.phase = HEAD
        self.buffer = bytearray()
        self.timer: asyncio.TimerHandle | None = None
        self.head: Head | None = None

    def _start(self, head: Head, rest: bytes) -> None:
        """Serve a checked WebSocket upgrade; `rest` is what followed its head."""
        raise NotImplementedError

    def _disconnect(self, code: int) -> None:
        """Tell the app, if one runs, that the connection is gone."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server_state.connections.add(self)
        self.registry.open.add(self)
        self.timer = self.loop.call_later(self.settings.handshake_timeout, self._expired)
        if self.registry.is_full(self.settings) or self.registry.is_draining:
            self.registry.warn(
                "full",
                "refusing a connection with HTTP 503: %d open (max_connections=%d)",
                len(self.registry.open) - 1,
                self.settings.max_connections,
            )
            self._refuse(503, "server at its connection limit")

    def _head(self, data: bytes) -> None:
        start = max(0, len(self.buffer) - 3)
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n", start)
        limit = self.settings.max_header_bytes
        if end < 0 or end > limit:
            if len(self.buffer) > limit:
                self.registry.warn("header", "refusing a request: headers over %d bytes", limit)
                self._refuse(431, f"request headers over {limit} bytes")
            return
        rest = bytes(self.buffer[end + 4 :])
        block = bytes(self.buffer[:end]).lstrip(b"\r\n")
        self.buffer = bytearray()
        try:
            head = parse_head(block)
            if not head.is_upgrade:
                self._hand_off(block + b"\r\n\r\n" + rest)
                return
            check_upgrade(head)
        except BadRequest as bad:
            self._refuse(bad.status, bad.reason)
            return
        self._start(head, rest)

    def _refuse(self, status: int, reason: str) -> None:
        """Answer with `status`, then discard input until the peer closes (or briefly)."""
        self.phase = REFUSED
        self.buffer = bytearray()
        self.transport.write(refusal(status, reason))
        # NOTE: closing with unread input would reset the connection before the client
        # reads the answer: half-close, drop what still comes, close soon after.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._cancel_timer()
        self.timer = self.loop.call_later(min(self.settings.handshake_timeout, 2.0), self._abort)

    def _hand_off(self, data: bytes) -> None:
        """Plain HTTP: uvicorn's own HTTP protocol serves this connection from here on."""
        self._cancel_timer()
        self.phase = DONE
        self.registry.open.discard(self)
        self.server_state.connections.discard(self)
        inner = AutoHTTPProtocol(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.app_state,
            _loop=self.loop,
        )
        self.transport.set_protocol(inner)
        inner.connection_made(self.transport)
        inner.data_received(data)

    def _expired(self) -> None:
        if self.phase == HEAD:  # NOTE: nothing written yet: a plain close (FIN) frees it
            self.registry.warn("handshake", "closing a connection: no upgrade within the timeout")
            self.transport.close()
            return
        if self.phase == CONNECTING:
            self.registry.warn("handshake", "closing a connection: the app did not accept in time")
            self._disconnect(1006)
        self._abort()

    def _abort(self) -> None:
        """Drop the connection now, unsent data included (a reset, not a lingering close)."""
        if self.phase != DONE:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                # NOTE: without this the kernel keeps the unread bytes and retries for
                # minutes on an orphaned socket; the peer would never learn it was dropped.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
