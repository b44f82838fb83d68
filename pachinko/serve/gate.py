"""`Gate`: the first phase of every `pachinko serve` connection, up to a valid upgrade."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from pachinko.runtime.options import Activity
from pachinko.serve.handshake import (
    BadRequest,
    Head,
    address,
    check_upgrade,
    parse_head,
    refusal,
    websocket_scope,
)
from pachinko.serve.settings import Registry, ServeSettings

access = logging.getLogger("uvicorn.error")  # NOTE: where uvicorn logs WebSocket handshakes

HEAD, CONNECTING, OPEN, CLOSING, REFUSED, DONE = range(6)


class Disconnected(ConnectionError):
    """The app sent on a WebSocket that is closing or closed."""


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
        self.is_reading_paused = False
        self.is_paused = False  # the transport's buffer is over its high-water mark
        self.drained: asyncio.Future[None] | None = None

    def _start(self, head: Head, rest: bytes) -> None:
        """Serve a checked WebSocket upgrade; `rest` is what followed its head."""
        raise NotImplementedError

    def _disconnect(self, code: int) -> None:
        """Tell the app, if one runs, that the connection is gone."""

    def stop_delivering(self) -> None:
        """Shutdown: hand no more frames to the app (none runs before an upgrade)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server_state.connections.add(self)
        self.registry.open.add(self)
        self.timer = self.loop.call_later(self.settings.handshake_timeout, self._expired)
        # NOTE: every connection of this process counts, plain HTTP ones included.
        why = self.registry.refusal(self.settings, len(self.server_state.connections))
        if why is not None:
            self.registry.warn("full", "refusing a connection with HTTP 503: %s", why)
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
        if self.registry.is_draining:
            # NOTE: plain HTTP (a health probe) is still served while draining.
            self.registry.warn("drain", "refusing a WebSocket with HTTP 503: shutting down")
            self._refuse(503, "shutting down")
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

    def pause_writing(self) -> None:
        self.is_paused = True

    def resume_writing(self) -> None:
        self.is_paused = False
        self._wake_writers()

    async def wait_writable(self) -> None:
        """Wait until the transport is below its high-water mark (`Disconnected` if lost)."""
        if self.drained is None:
            self.drained = self.loop.create_future()
        await asyncio.shield(self.drained)
        if self.phase == DONE:
            raise Disconnected("the connection was lost")

    def _wake_writers(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _pause_reading(self) -> None:
        if not self.is_reading_paused:
            self.is_reading_paused = True
            self.transport.pause_reading()

    def _close_timer(self) -> None:
        self._cancel_timer()
        self.timer = self.loop.call_later(self.settings.send_timeout, self._abort)

    def _log_handshake(self, outcome: str) -> None:
        if access.isEnabledFor(logging.INFO):
            peer = self.transport.get_extra_info("peername")
            client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "-"
            target = self.head.target.decode("latin-1") if self.head else "-"
            access.info('%s - "WebSocket %s" %s', client, target, outcome)

    def _shrink_buffers(self) -> None:
        """Small kernel and transport send buffers: a peer that does not read makes
        `send` wait within pachinko's `send_timeout`, not after megabytes."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.socket_send_buffer)
        self.transport.set_write_buffer_limits(high=self.settings.write_high_water)

    def _resume_reading(self) -> None:
        if self.is_reading_paused:
            self.is_reading_paused = False
            self.transport.resume_reading()

    def _scope(self, activity: Activity) -> dict[str, object]:
        """The ASGI scope of the upgrade request just read."""
        assert self.head is not None
        transport = self.transport
        return websocket_scope(
            self.head,
            server=address(transport.get_extra_info("sockname")),
            client=address(transport.get_extra_info("peername")),
            root_path=self.config.root_path,
            state=self.app_state.copy(),
            activity=activity,
            is_tls=transport.get_extra_info("sslcontext") is not None,
        )
