"""`Outbox`: one connection's outbound frames, encoded once and written in order."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable, Generator
from time import monotonic
from typing import Any

from pachinko.codecs.base import Codec
from pachinko.runtime.frames import Event, Framer, MessageId
from pachinko.runtime.options import Wire
from pachinko.runtime.stats import RouteStats
from pachinko.runtime.stepping import Send, as_coroutine_function, resume

log = logging.getLogger("pachinko")

# NOTE: `write_started` of a write in progress that nobody has timed yet: the watchdog
# stamps its own clock reading the first time it sees one (the reply path's saving).
UNTIMED = -1.0


class Outbox:
    """Owns the writes of one connection: encode, write now or queue, in order, and the clock.

    Frames go out in the order they were given, whoever gave them. A write
    never blocks a broadcaster: frames queue up to `limit`; a queue overflow, or
    a write the watchdog sees outlast `send_timeout`, drops the connection (1013).

    The two hot loops (the message loop's reply, the manager's fan-out) inline
    `write` and `push`; what they read and write is this contract:

    - `send`: the ASGI send callable, always an `async def` (one that is not, such as a
      callable object returning an awaitable, is wrapped in one at construction);
    - `queue`: events waiting behind the write in progress (None until a first backlog);
    - `write_started`: `time.monotonic()` when the write in progress began, `UNTIMED` when
      one is in progress that the watchdog has not timed yet, 0.0 when none;
    - `is_closed`: no frame is written any more (closing, dropped or gone);
    - `idle`: a future `wait_sent` waits on, resolved by `after_write` (None when nobody waits);
    - `stats`: the counts of the connection's route; `stats.frames_sent` counts data
      frames accepted for it (written at once or queued);
    - `wire`: the server's `pachinko.wire` for this connection, or None: frames built
      once (`wire.frame`) are written with `wire.write` instead of an ASGI send.

    An inlined write adds 1 to `stats.frames_sent` while the route's messages are
    counted (the manager's fan-out counts its recipients instead:
    `WebSocketConnectionManager.recipients`); one that
    finds `write_started`, `queue` or `is_closed` set falls back to the method;
    after an inline write it calls `after_write` when `queue` or `idle` is set; a
    hand-stepped write that has to wait calls `finish_later`, a wire write that
    finds the peer behind calls `wait_wire`.
    """

    __slots__ = (
        "close_code",
        "codec",
        "encode_bytes",
        "framer",
        "idle",
        "is_binary",
        "is_closed",
        "limit",
        "name",
        "on_drop",
        "queue",
        "send",
        "stats",
        "task",
        "wire",
        "write_started",
        "writer",
    )

    def __init__(
        self,
        send: Send,
        codec: Codec,
        framer: Framer,
        *,
        limit: int = 256,
        task: asyncio.Task[Any] | None = None,
        on_drop: Callable[[int], None] | None = None,
        name: str = "",
        stats: RouteStats | None = None,
        wire: Wire | None = None,
    ) -> None:
        self.name = name  # the connection's id, for log lines
        self.wire = wire
        self.stats = stats if stats is not None else RouteStats("")
        self.send = send if inspect.iscoroutinefunction(send) else as_coroutine_function(send)
        self.codec = codec
        self.encode_bytes = codec.encode
        self.is_binary = codec.is_binary
        self.framer = framer
        self.limit = limit
        self.task = task  # the connection's loop: cancelled by `drop` unless `on_drop` is given
        self.on_drop = on_drop
        self.queue: deque[Event] | None = None
        self.write_started = 0.0
        self.is_closed = False
        self.close_code: int | None = None
        self.writer: asyncio.Task[None] | None = None
        self.idle: asyncio.Future[None] | None = None

    # -- encoding ----------------------------------------------------------------

    def encode(self, type_: str, payload: object, id_: MessageId) -> Event:
        """Encode one frame (this connection's envelope and codec) into an ASGI send event."""
        return self.wrap(self.encode_bytes(self.framer(type_, payload, id_)))

    def wrap(self, data: bytes) -> Event:
        """Encoded bytes as an ASGI send event: binary for binary codecs, else text."""
        if self.is_binary:
            return {"type": "websocket.send", "bytes": data}
        return {"type": "websocket.send", "text": data.decode()}

    # -- writing -------------------------------------------------------------------

    async def write(self, event: Event, closing: bool = False) -> None:
        """Write an event in order, waiting for it if nothing is queued; dropped once closed."""
        if self.is_closed and not closing:
            return
        if not closing:
            self.stats.frames_sent += 1
        if self.write_started or self.queue:
            self.enqueue(event)
            return
        # NOTE: the common case (a reply with nothing queued) writes inline: no task hop.
        self.write_started = monotonic()
        try:
            await self.send(event)
        except Exception:  # the peer went away mid-write; the receive loop sees it
            self.is_closed = True
        finally:
            self.write_started = 0.0
        if self.queue or self.idle is not None:
            self.after_write()

    def push(self, event: Event) -> None:
        """Write without waiting (broadcasts): written now if the socket takes it, else queued."""
        if self.is_closed:
            return
        self.stats.frames_sent += 1
        if self.write_started or self.queue:
            self.enqueue(event)
            return
        wire = self.wire
        if wire is not None:
            text = event.get("text")
            try:
                if not wire.write(wire.frame(event["bytes"] if text is None else text)):
                    self.wait_wire()
            except Exception:
                self.is_closed = True
            return
        # NOTE: step the ASGI send by hand. A socket with room finishes it at once and no
        # task is made; only a write that really has to wait gets a task to finish it.
        # Iterating the awaitable ends without materialising StopIteration, unlike .send().
        write = self.send(event).__await__()
        try:
            for pending in write:
                self.finish_later(write, pending)
                break
        except Exception:
            self.is_closed = True

    def wait_wire(self) -> None:
        """A frame written to the wire found the peer behind: later frames queue until it
        catches up, and the watchdog times this like any write in progress."""
        self.write_started = monotonic()
        self.writer = asyncio.get_running_loop().create_task(self._wire_drained())

    async def _wire_drained(self) -> None:
        try:
            await self.wire.drained()  # type: ignore[union-attr]
        except Exception:
            self.is_closed = True
        finally:
            self.write_started = 0.0
        await self._flush()

    def finish_later(self, write: Generator[Any, Any, Any], pending: object) -> None:
        """Finish in a task a write that was stepped by hand and had to wait."""
        self.write_started = monotonic()
        self.writer = asyncio.get_running_loop().create_task(self._finish(write, pending))

    def enqueue(self, event: Event) -> None:
        """Queue behind the write in progress; overflow drops the connection (1013)."""
        queue = self.queue
        if queue is None:
            queue = self.queue = deque()
        if len(queue) >= self.limit:
            log.warning(
                "dropping slow consumer %s (send queue of %d full)",
                self.name,
                self.limit,
                extra={"connection_id": self.name, "route": self.stats.route, "close_code": 1013},
            )
            self.drop(1013)
            return
        queue.append(event)

    def after_write(self) -> None:
        """After an inline write: hand queued frames to a writer task, or wake `wait_sent`."""
        if not self.queue:
            self._went_idle()
        elif self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._flush())

    async def _finish(self, write: Generator[Any, Any, Any], pending: object) -> None:
        try:
            await resume(write, pending)
        except Exception:
            self.is_closed = True
        finally:
            self.write_started = 0.0
        await self._flush()

    async def _flush(self) -> None:
        """Write the queued frames in order; a task only while there is a backlog."""
        queue, send = self.queue, self.send
        while queue:
            event = queue.popleft()
            self.write_started = monotonic()
            try:
                await send(event)
            except Exception:
                self.is_closed = True
                queue.clear()
            finally:
                self.write_started = 0.0
        self.writer = None
        self._went_idle()

    def _went_idle(self) -> None:
        idle, self.idle = self.idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def wait_sent(self) -> None:
        """Wait until every frame queued so far has been written, or the connection closed."""
        while (self.queue or self.write_started) and not self.is_closed:
            if self.idle is None:
                self.idle = asyncio.get_running_loop().create_future()
            await self.idle

    # -- closing ---------------------------------------------------------------------

    async def close(self, code: int, reason: str = "") -> None:
        """Write a close frame behind the frames already queued; later writes are dropped."""
        if self.is_closed:
            return
        self.is_closed = True
        self.close_code = code
        await self.write({"type": "websocket.close", "code": code, "reason": reason}, True)

    def drop(self, code: int) -> None:
        """Stop at once with `code` (slow consumer, abuse): the queue is dropped, nothing waits."""
        if self.is_closed:
            return
        self.is_closed = True
        self.close_code = code
        if self.queue:
            self.queue.clear()
        self._went_idle()
        if self.on_drop is not None:
            self.on_drop(code)
        elif self.task is not None:
            self.task.cancel()  # the connection's own loop closes with `code`

    def stop(self) -> None:
        """Cancel a pending write; called once the connection has ended."""
        self.is_closed = True
        if self.queue:
            self.queue.clear()
        self._went_idle()
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None
