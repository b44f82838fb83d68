"""`PachinkoProtocol`: one TCP connection of `pachinko serve`, from its first byte to its close."""

from __future__ import annotations

import asyncio
import codecs
import logging
import socket
from collections import deque
from time import monotonic
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol
from websockets.datastructures import Headers
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from pachinko.runtime.options import Activity
from pachinko.serve.handshake import BadRequest, Head, check_upgrade, parse_head, refusal
from pachinko.serve.handshake import websocket_scope as make_scope
from pachinko.serve.settings import Registry, ServeSettings

log = logging.getLogger("pachinko")
# NOTE: websockets logs every open and close at INFO; only its warnings matter here.
wire = logging.getLogger("pachinko.wire")
wire.setLevel(logging.WARNING)
access = logging.getLogger("uvicorn.error")  # NOTE: where uvicorn logs WebSocket handshakes

HEAD, CONNECTING, OPEN, CLOSING, REFUSED, DONE = range(6)
TEXT, BINARY, CONT, CLOSE = Opcode.TEXT, Opcode.BINARY, Opcode.CONT, Opcode.CLOSE
WS_OPEN = State.OPEN
MAX_EVENTS = 64  # frames received and not yet taken by the app before reading pauses


class Disconnected(ConnectionError):
    """The app sent on a WebSocket that is closing or closed."""


class PachinkoProtocol(asyncio.Protocol):
    """One connection: a bounded request head, then plain HTTP (uvicorn's) or a WebSocket.

    The WebSocket side speaks ASGI to the app over `websockets`' sans-I/O core and
    enforces DESIGN.md's `[limits]` itself: handshake timeout, header cap,
    `max_connections`, close frames on protocol errors, a pong deadline, small
    write buffers (so `send` waits for a peer that does not read), and a close that
    is aborted when the peer has not read it within `send_timeout`.
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
        self.ws: ServerProtocol = None  # type: ignore[assignment]
        self.subprotocol: str | None = None
        self.activity = Activity()
        self.events: deque[dict[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.is_waiting = False  # the app waits in `receive`
        self.is_delivering = True
        self.is_reading_paused = False
        self.is_paused = False  # the transport's buffer is over its high-water mark
        self.drained: asyncio.Future[None] | None = None
        self.close_code: int | None = None  # the disconnect code the app receives
        self.fragments: list[bytes] | None = None
        self.utf8: codecs.IncrementalDecoder | None = None
        self.ping_sent = 0.0
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------

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

    def data_received(self, data: bytes) -> None:
        phase = self.phase
        if phase in (OPEN, CLOSING):
            self.activity.last = monotonic()
            self.ws.receive_data(data)
            self._frames()
        elif phase == HEAD:
            self._head(data)
        elif phase == CONNECTING:
            self.activity.last = monotonic()
            self.buffer += data
            if len(self.buffer) > self.settings.max_message_bytes:
                self._pause_reading()

    def eof_received(self) -> bool | None:
        if self.ws is not None and self.phase in (OPEN, CLOSING):
            self.ws.receive_eof()
            self._frames()
        return None  # NOTE: the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.phase = DONE
        self._cancel_timer()
        self.server_state.connections.discard(self)
        self.registry.open.discard(self)
        self._wake_writers()
        if self.task is not None:
            self._disconnect(1006)
        self.registry.changed()

    def pause_writing(self) -> None:
        self.is_paused = True

    def resume_writing(self) -> None:
        self.is_paused = False
        self._wake_writers()

    def shutdown(self) -> None:
        """uvicorn's shutdown: close with 1001 whatever is still open."""
        if self.phase == OPEN:
            self._close(1001, "server shutdown")
            self._disconnect(1001)
        elif self.phase != DONE:
            self.transport.close()

    # -- the request head ----------------------------------------------------------------

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
        if self.phase in (HEAD, CONNECTING):
            self.registry.warn("handshake", "closing a connection: no upgrade within the timeout")
            if self.phase == CONNECTING:
                self._disconnect(1006)
        self._abort()

    def _abort(self) -> None:
        if self.phase != DONE:
            self.transport.abort()

    # -- the WebSocket -------------------------------------------------------------------

    def _start(self, head: Head, rest: bytes) -> None:
        """Run the app on a valid upgrade; frames sent early wait until it accepts."""
        self.phase = CONNECTING
        self.head = head
        self.buffer = bytearray(rest)
        transport = self.transport
        scope = make_scope(
            head,
            server=_address(transport.get_extra_info("sockname")),
            client=_address(transport.get_extra_info("peername")),
            root_path=self.config.root_path,
            state=self.app_state.copy(),
            activity=self.activity,
            is_tls=transport.get_extra_info("sslcontext") is not None,
        )
        self.events.append({"type": "websocket.connect"})
        task = self.task = self.loop.create_task(self._run(scope))
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self.config.loaded_app(scope, self.receive, self.send)
        except Exception:
            log.exception("the ASGI app failed on a WebSocket")
            code = 1011
        else:
            code = 1000
        if self.phase == CONNECTING:
            self._refuse(500, "the app neither accepted nor refused the WebSocket")
        elif self.phase == OPEN:
            self._close(code, "")
        self.registry.changed()

    def _log_handshake(self, outcome: str) -> None:
        if access.isEnabledFor(logging.INFO):
            peer = self.transport.get_extra_info("peername")
            client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "-"
            target = self.head.target.decode("latin-1") if self.head else "-"
            access.info('%s - "WebSocket %s" %s', client, target, outcome)

    async def receive(self) -> dict[str, Any]:
        """ASGI receive: the next event; `websocket.disconnect` again once closed."""
        events = self.events
        while not events:
            if self.close_code is not None:
                return {"type": "websocket.disconnect", "code": self.close_code}
            self.waiter = self.loop.create_future()
            self.is_waiting = True
            if not self.is_delivering:
                self.registry.changed()
            try:
                await self.waiter
            finally:
                self.is_waiting = False
                self.waiter = None
        event = events.popleft()
        if self.is_reading_paused and len(events) < MAX_EVENTS // 4:
            self.is_reading_paused = False
            self.transport.resume_reading()
        return event

    async def send(self, message: dict[str, Any]) -> None:
        """ASGI send: frames wait while the peer is not reading (small buffers)."""
        kind = message["type"]
        if kind == "websocket.send":
            if self.phase != OPEN:
                raise Disconnected("the WebSocket is closed")
            text = message.get("text")
            if text is not None:
                self.ws.send_text(text.encode())
            else:
                self.ws.send_binary(message["bytes"])
            for chunk in self.ws.data_to_send():
                self.transport.write(chunk)
            if self.is_paused:
                await self._wait_writable()
        elif kind == "websocket.accept":
            self._accept(message)
        elif kind == "websocket.close":
            if self.phase == CONNECTING:
                self._log_handshake("403")
                self._refuse(403, "WebSocket refused")
                self._disconnect(1006)
            elif self.phase == OPEN:
                self._close(message.get("code") or 1000, message.get("reason") or "")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a WebSocket")

    def _accept(self, message: dict[str, Any]) -> None:
        if self.phase != CONNECTING:
            raise Disconnected(f"cannot accept a WebSocket in phase {self.phase}")
        head = self.head
        assert head is not None
        self.subprotocol = message.get("subprotocol")
        extensions = (
            [ServerPerMessageDeflateFactory()] if self.settings.compression == "deflate" else None
        )
        handshake = ServerProtocol(
            extensions=extensions,
            select_subprotocol=lambda _protocol, _offered: self.subprotocol,
            logger=wire,
        )
        request = Request(
            head.target.decode("latin-1"),
            Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers]),
        )
        response = handshake.accept(request)
        if response.status_code != 101:
            self._refuse(response.status_code, "WebSocket handshake refused")
            self._disconnect(1006)
            return
        for name, value in message.get("headers") or ():
            response.headers[name.decode("latin-1")] = value.decode("latin-1")
        handshake.send_response(response)
        self._log_handshake("[accepted]")
        # NOTE: a second sans-I/O protocol starts in OPEN, so its parser reads frames.
        limit = self.settings.max_message_bytes
        self.ws = ServerProtocol(state=WS_OPEN, max_size=limit, logger=wire)
        self.ws.extensions = handshake.extensions
        self.phase = OPEN
        self._cancel_timer()
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.socket_send_buffer)
        self.transport.set_write_buffer_limits(high=self.settings.write_high_water)
        for chunk in handshake.data_to_send():
            self.transport.write(chunk)
        self.activity.last = monotonic()
        if self.settings.ping_interval > 0:
            self.timer = self.loop.call_later(self.settings.ping_interval, self._keepalive)
        if self.is_reading_paused:
            self.is_reading_paused = False
            self.transport.resume_reading()
        if self.buffer:
            early, self.buffer = bytes(self.buffer), bytearray()
            self.data_received(early)

    def _frames(self) -> None:
        """Hand the frames just parsed to the app; write what the core wants written."""
        ws = self.ws
        for frame in ws.events_received():
            opcode = frame.opcode
            if opcode is TEXT or opcode is BINARY:
                if frame.fin:
                    if opcode is TEXT:
                        try:
                            text = frame.data.decode()
                        except UnicodeDecodeError:
                            ws.fail(1007, "invalid UTF-8")
                            break
                        self._deliver({"type": "websocket.receive", "text": text})
                    else:
                        self._deliver({"type": "websocket.receive", "bytes": bytes(frame.data)})
                    continue
                self.fragments = []
                self.utf8 = codecs.getincrementaldecoder("utf-8")() if opcode is TEXT else None
            elif opcode is not CONT:
                continue  # NOTE: pings (answered by the core), pongs and close: activity only
            assert self.fragments is not None
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
                    self._deliver({"type": "websocket.receive", "text": data.decode()})
                else:
                    self._deliver({"type": "websocket.receive", "bytes": data})
        self._flush()
        if ws.close_rcvd is not None or ws.eof_sent:
            if self.phase == OPEN:
                self.phase = CLOSING
            sent = ws.close_sent
            self._disconnect(ws.close_rcvd.code if ws.close_rcvd else sent.code if sent else 1006)

    def _flush(self) -> None:
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:  # NOTE: the core's end of stream: the server closes TCP after a close
                self.transport.close()
                self._close_timer()

    def _deliver(self, event: dict[str, Any]) -> None:
        if not self.is_delivering or self.phase != OPEN:
            return  # NOTE: shutting down, or the app already closed: dropped unread
        self.events.append(event)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(self.events) >= MAX_EVENTS:
            self._pause_reading()

    def _disconnect(self, code: int) -> None:
        """Tell the app the connection is gone (once)."""
        if self.close_code is None:
            self.close_code = code
            waiter = self.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _close(self, code: int, reason: str) -> None:
        """Start the closing handshake; abort if the peer has not read it in `send_timeout`."""
        if self.ws.state is WS_OPEN:
            self.ws.send_close(code, reason)
            self._flush()
        self.phase = CLOSING
        self._close_timer()

    def _close_timer(self) -> None:
        self._cancel_timer()
        self.timer = self.loop.call_later(self.settings.send_timeout, self._abort)

    def _keepalive(self) -> None:
        if self.phase != OPEN:
            return
        if self.ping_sent and self.activity.last < self.ping_sent:
            log.info("closing a WebSocket: no pong within %.3gs", self.settings.ping_interval)
            self._close(1001, "no pong")
            self._disconnect(1001)
            return
        self.ping_sent = monotonic()
        self.ws.send_ping(b"")
        self._flush()
        self.timer = self.loop.call_later(self.settings.ping_interval, self._keepalive)

    def stop_delivering(self) -> None:
        """Shutdown: frames not yet taken by the app, and later ones, are never delivered."""
        self.is_delivering = False
        self.events = deque(e for e in self.events if e["type"] != "websocket.receive")

    @property
    def is_idle(self) -> bool:
        """No handler of the app runs here: it waits for a frame, or the connection ended."""
        return self.is_waiting or self.phase in (REFUSED, DONE) or self.task is None

    async def _wait_writable(self) -> None:
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

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _address(info: Any) -> tuple[str, int] | None:
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) and len(info) >= 2 else None
