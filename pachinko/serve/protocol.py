"""`PachinkoProtocol`: one TCP connection of `pachinko serve`, from its first byte to its close."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from time import monotonic
from typing import Any

from websockets.protocol import State
from websockets.server import ServerProtocol

from pachinko.runtime.options import WIRE, Activity
from pachinko.serve.gate import CLOSING, CONNECTING, DONE, HEAD, OPEN, Disconnected, Gate
from pachinko.serve.handshake import BadRequest, Head
from pachinko.serve.inflation import InflationGuard, guard_for
from pachinko.serve.wire import Assembler, Wire, data_frame, is_wire_allowed, open_websocket

log = logging.getLogger("pachinko")

WS_OPEN = State.OPEN
MAX_EVENTS = 64  # frames received and not yet taken by the app before reading pauses


class PachinkoProtocol(Gate):
    """One connection: a bounded request head (`Gate`), then uvicorn's HTTP or a WebSocket.

    The WebSocket side speaks ASGI to the app over `websockets`' sans-I/O core and
    enforces DESIGN.md's `[limits]` itself: handshake timeout, header cap,
    `max_connections`, close frames on protocol errors, a pong deadline, small
    write buffers (so `send` waits for a peer that does not read), and a close that
    is aborted when the peer has not read it within `send_timeout`.
    """

    def __init__(
        self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.ws: ServerProtocol = None  # type: ignore[assignment]
        self.activity = Activity()
        self.events: deque[dict[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.is_waiting = False  # the app waits in `receive`
        self.is_delivering = True
        self.close_code: int | None = None  # the disconnect code the app receives
        self.assembler = Assembler()
        self.guard: InflationGuard | None = None
        self.held: list[bytes] | None = None  # the core's close output, held back
        self.ping_sent = 0.0
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        phase = self.phase
        if phase in (OPEN, CLOSING):
            self.activity.last = monotonic()
            if self.guard is not None and not self.guard.feed(data):
                self.guard = None
                if self.ws.state is WS_OPEN:
                    self.ws.fail(1009, "message too big once inflated")
            else:
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

    def shutdown(self) -> None:
        """uvicorn's shutdown: close with 1001 whatever is still open."""
        if self.phase == OPEN:
            self._close(1001, "server shutdown")
            self._disconnect(1001)
        elif self.phase != DONE:
            self.transport.close()

    # -- the WebSocket -------------------------------------------------------------------

    def _start(self, head: Head, rest: bytes) -> None:
        """Run the app on a valid upgrade; frames sent early wait until it accepts."""
        self.phase = CONNECTING
        self.head = head
        self.buffer = bytearray(rest)
        scope = self._scope(self.activity)
        if is_wire_allowed(self.settings.compression, head):
            scope["extensions"][WIRE] = Wire(self)  # type: ignore[index]
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

    async def receive(self) -> dict[str, Any]:
        """ASGI receive: the next event; `websocket.disconnect` again once closed."""
        events = self.events
        while not events:
            if self.held is not None:
                self._release()
            if self.close_code is not None:
                return {"type": "websocket.disconnect", "code": self.close_code}
            self.waiter = self.loop.create_future()
            self.is_waiting = True
            try:
                await self.waiter
            finally:
                self.is_waiting = False
                self.waiter = None
        event = events.popleft()
        if len(events) < MAX_EVENTS // 4:
            self._resume_reading()
        return event

    async def send(self, message: dict[str, Any]) -> None:
        """ASGI send: frames wait while the peer is not reading (small buffers)."""
        kind = message["type"]
        if kind == "websocket.send":
            if self.phase != OPEN:
                raise Disconnected("the WebSocket is closed")
            text = message.get("text")
            if self.held is not None:  # the peer's close is held back: frame it here
                self.transport.write(data_frame(self.ws, text, message.get("bytes")))
            elif text is not None:
                self.ws.send_text(text.encode())
            else:
                self.ws.send_binary(message["bytes"])
            for chunk in self.ws.data_to_send():
                self.transport.write(chunk)
            if self.is_paused:
                await self.wait_writable()
        elif kind == "websocket.accept":
            self._accept(message)
        elif kind == "websocket.close":
            if self.phase == CONNECTING:
                self._log_handshake("403")
                self._refuse(403, "WebSocket refused")
                self._disconnect(1006)
            elif self.held is not None:
                self._release()
            elif self.phase == OPEN:
                self._close(message.get("code") or 1000, message.get("reason") or "")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a WebSocket")

    def _accept(self, message: dict[str, Any]) -> None:
        if self.phase != CONNECTING:
            raise Disconnected(f"cannot accept a WebSocket in phase {self.phase}")
        assert self.head is not None
        try:
            response, self.ws = open_websocket(
                self.head,
                message.get("subprotocol"),
                message.get("headers") or [],
                max_message_bytes=self.settings.max_message_bytes,
                compression=self.settings.compression,
            )
        except BadRequest as bad:
            self._refuse(bad.status, bad.reason)
            self._disconnect(1006)
            return
        self._log_handshake("[accepted]")
        self.guard = guard_for(self.ws, self.settings.max_message_bytes)
        self.phase = OPEN
        self._cancel_timer()
        self._shrink_buffers()
        self.transport.write(response)
        self.activity.last = monotonic()
        if self.settings.ping_interval > 0:
            self.timer = self.loop.call_later(self.settings.ping_interval, self._keepalive)
        self._resume_reading()
        if self.buffer:
            early, self.buffer = bytes(self.buffer), bytearray()
            self.data_received(early)

    def _frames(self) -> None:
        """Hand the messages just parsed to the app; write what the core wants written."""
        ws = self.ws
        for event in self.assembler.events(ws):
            self._deliver(event)
        if self.held is not None:
            return
        if ws.close_rcvd is not None or ws.eof_sent:
            if self.events and self.phase == OPEN:
                # NOTE: messages that came before a close (or a protocol error) get their
                # answers first: the close waits until the app asks for the next event.
                self.held = ws.data_to_send()
                self.is_delivering = False
                self._cancel_timer()
                self.timer = self.loop.call_later(self.settings.send_timeout, self._release)
                return
            self._flush()
            if self.phase == OPEN:
                self.phase = CLOSING
            sent = ws.close_sent
            self._disconnect(ws.close_rcvd.code if ws.close_rcvd else sent.code if sent else 1006)
        else:
            self._flush()

    def _release(self) -> None:
        """Write the held close now that the app has answered what came before it."""
        held, self.held = self.held, None
        if held is not None and self.phase == OPEN:
            self.stop_delivering()  # NOTE: on the timer, what the app has not taken is dropped
            self._flush(held)
            self._frames()

    def _flush(self, chunks: list[bytes] | None = None) -> None:
        for chunk in self.ws.data_to_send() if chunks is None else chunks:
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
        if self.held is not None:  # NOTE: the peer's close (or a failure) is already due
            self._release()
            return
        if self.ws.state is WS_OPEN:
            self.ws.send_close(code, reason)
            self._flush()
        self.phase = CLOSING
        self._close_timer()

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
