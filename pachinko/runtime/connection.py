"""`Connection`: what handlers, hooks and workers receive, and its ordered outbound queue."""

from __future__ import annotations

import asyncio
import logging
import types
from collections import deque
from collections.abc import Callable, Generator
from time import monotonic
from typing import TYPE_CHECKING, Any

from pachinko.codecs.base import Codec
from pachinko.runtime.frames import Event, MessageId, raw_event
from pachinko.runtime.options import ACTIVITY, Activity

if TYPE_CHECKING:
    import falcon.asgi

    from pachinko.runtime.manager import WebSocketConnectionManager
    from pachinko.runtime.transport import AsgiTransport, FalconTransport

log = logging.getLogger("pachinko")

Send = Callable[[Event], Any]
Receive = Callable[[], Any]


class Connection:
    """One accepted WebSocket connection.

    Frames to one connection go out in the order they were sent, whoever sent them.
    A write never blocks a broadcaster: frames queue up to `send_queue`, and a
    connection whose queue overflows, or whose write outlasts `send_timeout`, is
    dropped with close code 1013.
    """

    __slots__ = (
        "_abort",
        "_encode",
        "_frame",
        "_idle",
        "_is_binary",
        "_outbox",
        "_queue_limit",
        "_receive",
        "_reply_id",
        "_reply_type",
        "_send",
        "_task",
        "_transport",
        "_writer",
        "activity",
        "close_code",
        "codec",
        "id",
        "is_closed",
        "last_seen",
        "manager",
        "params",
        "rooms",
        "state",
        "write_started",
    )

    def __init__(
        self,
        id_: str,
        *,
        manager: WebSocketConnectionManager,
        codec: Codec,
        framer: Callable[[str, object, MessageId], object],
        send: Send,
        receive: Receive,
        transport: AsgiTransport | FalconTransport | None = None,
        params: dict[str, object] | None = None,
        send_queue: int = 256,
        task: asyncio.Task[Any] | None = None,
        abort: Callable[[int], None] | None = None,
    ) -> None:
        self.id = id_
        self.manager = manager
        self._transport = transport
        # NOTE: the server's own record of traffic (pongs included), when it keeps one.
        self.activity: Activity | None = (
            transport.scope.get("extensions", {}).get(ACTIVITY) if transport is not None else None
        )
        self._task = task
        self.params = params if params is not None else {}
        self.state: dict[str, object] = {}
        # NOTE: immutable and rebuilt on join/leave (rare): idle connections share one empty set.
        self.rooms: frozenset[str] = frozenset()
        self.is_closed = False
        self.close_code: int | None = None
        self.last_seen = 0.0  # time.monotonic() of the last frame received
        self.write_started = 0.0  # time.monotonic() the current write began; 0 when idle
        self.codec = codec
        self._encode = codec.encode
        self._is_binary = codec.is_binary
        self._frame = framer
        self._send = send
        self._receive = receive
        self._outbox: deque[Event] | None = None  # made on first backlog
        self._queue_limit = send_queue
        self._writer: asyncio.Task[None] | None = None
        self._idle: asyncio.Future[None] | None = None  # resolved when the outbox empties
        self._reply_type = ""
        self._reply_id: MessageId = None
        self._abort = abort

    @property
    def request(self) -> falcon.asgi.Request:
        """The upgrade request (a `falcon.asgi.Request`), made on first use."""
        if self._transport is None:
            raise AttributeError("this connection was made by hand, without a request")
        return self._transport.request

    def __repr__(self) -> str:
        return f"<Connection {self.id} rooms={sorted(self.rooms)}>"

    # -- sending ---------------------------------------------------------------

    async def send(self, type: str, payload: object = None) -> None:
        """Send `{"type": type, "payload": payload}` to this connection."""
        await self.send_event(self.encode_event(type, payload, None))

    async def reply(self, payload: object) -> None:
        """Answer the message being handled: its reply type and id, sent at once."""
        await self.send_event(self.encode_event(self._reply_type, payload, self._reply_id))

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame verbatim: text for `str`, binary for `bytes`."""
        await self.send_event(raw_event(data))

    async def send_media(self, media: object) -> None:
        """Send `media` encoded by this connection's codec, with no envelope."""
        await self.send_event(self.wrap(self._encode(media)))

    def encode_event(self, type_: str, payload: object, id_: MessageId) -> Event:
        """Encode one frame into the ASGI event this connection sends."""
        return self.wrap(self._encode(self._frame(type_, payload, id_)))

    def wrap(self, data: bytes) -> Event:
        """Encoded bytes as an ASGI send event: binary for binary codecs, else text."""
        if self._is_binary:
            return {"type": "websocket.send", "bytes": data}
        return {"type": "websocket.send", "text": data.decode()}

    async def send_event(self, event: Event, _closing: bool = False) -> None:
        """Send a ready ASGI event, in order; dropped once the connection is closing."""
        if self.is_closed and not _closing:
            return
        if self.write_started or self._outbox:
            self.enqueue(event)
            return
        # NOTE: the common case (a reply with nothing queued) writes inline: no task hop.
        self.write_started = monotonic()
        try:
            await self._send(event)
        except Exception:  # the peer went away mid-write; the receive loop sees it
            self.is_closed = True
        finally:
            self.write_started = 0.0
        if self._outbox or self._idle is not None:
            self.after_write()

    def push(self, event: Event) -> None:
        """Send without waiting (broadcasts): written now if the socket takes it, else queued."""
        if self.is_closed:
            return
        if self.write_started or self._outbox:
            self.enqueue(event)
            return
        # NOTE: step the ASGI send by hand. A socket with room finishes it at once and no
        # task is made; only a write that really has to wait gets a task to finish it.
        # (The manager's fan-out loop inlines this block.)
        # Iterating the awaitable ends without materialising StopIteration, unlike .send().
        write = self._send(event).__await__()
        try:
            for pending in write:
                self.finish_later(write, pending)
                break
        except Exception:
            self.is_closed = True

    def finish_later(self, write: Generator[Any, Any, Any], pending: object) -> None:
        """Finish in a task a write that was stepped by hand and had to wait."""
        self.write_started = monotonic()
        self._writer = asyncio.get_running_loop().create_task(self._finish(write, pending))

    def enqueue(self, event: Event) -> None:
        """Queue behind the write in progress; overflow drops the connection (1013)."""
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        if len(outbox) >= self._queue_limit:
            self.drop(1013)
            return
        outbox.append(event)

    def after_write(self) -> None:
        """After an inline write: hand queued frames to a writer task, or wake `wait_sent`."""
        if not self._outbox:
            self._went_idle()
        elif self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _finish(self, write: Generator[Any, Any, Any], pending: object) -> None:
        try:
            await _resume(write, pending)
        except Exception:
            self.is_closed = True
        finally:
            self.write_started = 0.0
        await self._drain()

    async def _drain(self) -> None:
        """Write the queued frames in order; a task only while there is a backlog."""
        outbox, send = self._outbox, self._send
        while outbox:
            event = outbox.popleft()
            self.write_started = monotonic()
            try:
                await send(event)
            except Exception:
                self.is_closed = True
                outbox.clear()
            finally:
                self.write_started = 0.0
        self._writer = None
        self._went_idle()

    def _went_idle(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def wait_sent(self) -> None:
        """Wait until every frame queued so far has been written, or the connection closed."""
        while (self._outbox or self.write_started) and not self.is_closed:
            if self._idle is None:
                self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    def drop(self, code: int) -> None:
        """Stop this connection at once with `code` (slow consumer, abuse); nothing waits."""
        if not self.is_closed:
            self.is_closed = True
            self.close_code = code
            if self._outbox:
                self._outbox.clear()
            self._went_idle()
            if self._abort is not None:
                self._abort(code)
            elif self._task is not None:
                self._task.cancel()  # the connection's own loop closes with `code`

    def stop_writer(self) -> None:
        """Cancel a pending write; called once the connection has ended."""
        self.is_closed = True
        if self._outbox:
            self._outbox.clear()
        self._went_idle()
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    # -- rooms and lifecycle ---------------------------------------------------------

    async def join(self, room: str) -> None:
        """Join `room`; raises `pachinko.RoomFull` when it is at `max_members`."""
        await self.manager.join(self, room)

    async def leave(self, room: str) -> None:
        """Leave `room` (no-op when not a member)."""
        await self.manager.leave(self, room)

    # -- users (DESIGN section 4) ---------------------------------------------------

    @property
    def user(self) -> object:
        """Who this connection is, as set by `identify` (`state["user"]`); None until then."""
        return self.state.get("user")

    async def identify(self, user: str | int) -> None:
        """Set `state["user"]` and index this connection under `user` on every process."""
        await self.manager.identify(self, user)

    async def broadcast(
        self,
        room: str,
        type: str,
        payload: object = None,
        exclude_self: bool = False,
    ) -> None:
        """Send a frame to every member of `room`, optionally not to this connection."""
        await self.manager.broadcast(room, type, payload, exclude=self.id if exclude_self else None)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after the frames already queued; later sends are dropped."""
        if self.is_closed:
            return
        self.is_closed = True
        self.close_code = code
        await self.send_event({"type": "websocket.close", "code": code, "reason": reason}, True)

    # -- WebSocketLike -------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None) -> None:
        """No-op: pachinko accepts the connection before handlers and hooks see it."""

    async def receive_media(self) -> object:
        """Receive and decode the next frame directly (from a handler only: it pauses dispatch)."""
        event = await self._receive()
        if event["type"] != "websocket.receive":
            self.is_closed = True
            raise ConnectionError(f"connection {self.id} closed")
        data = event.get("text")
        return self.codec.decoder(object)(event["bytes"] if data is None else data)


@types.coroutine
def _resume(write: Generator[Any, Any, Any], pending: object) -> Generator[Any, Any, Any]:
    """Go on driving an awaitable stepped by hand that stopped at `pending` (a future)."""
    while True:
        try:
            sent = yield pending
        except BaseException as exc:
            try:
                pending = write.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = write.send(sent)
            except StopIteration as stop:
                return stop.value
