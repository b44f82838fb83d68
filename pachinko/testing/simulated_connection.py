"""`SimulatedConnection`: one in-process WebSocket connection, the app in a task of its own."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from pachinko.testing.session import (
    BaseClient,
    HandshakeRejected,
    ReceiveTimeout,
    WebSocketClosed,
    _Closed,
)
from pachinko.testing.trace import decoded


class Host(Protocol):
    """What a connection needs of its simulator (`WebSocketSimulator`)."""

    app: Any
    connections: list[SimulatedConnection]
    raise_app_exceptions: bool

    @property
    def is_started(self) -> bool: ...

    async def start(self) -> object: ...


Event = dict[str, Any]


class ClientDisconnected(OSError):
    """Raised to the app when it sends on a connection the client has left (as servers do)."""


class SimulatedConnection(BaseClient):
    """One in-process WebSocket connection; the app runs in a task of its own.

    It behaves as uvicorn does: a close before accept is an HTTP 403 refusal, an
    app that returns without closing leaves the client with 1006, and a send after
    the client left raises `ClientDisconnected` in the app.
    """

    def __init__(
        self,
        simulator: Host,
        scope: dict[str, Any],
        *,
        timeout: float,
        trace: bool,
        codec: str | None = None,
    ) -> None:
        query = scope["query_string"].decode()
        target = scope["path"] + (f"?{query}" if query else "")
        super().__init__(target, timeout=timeout, trace=trace, codec=codec)
        #: What the app sent that the test has not read yet, decoded, oldest first.
        self.sent_messages: list[object] = []
        self.simulator = simulator
        self.scope = scope
        self.app_error: BaseException | None = None
        self.response_status: int | None = None
        self._state = "new"  # new, connecting, open, server-closed, client-closed, refused
        self._task: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Event] = asyncio.Queue()
        self._inbox: asyncio.Queue[str | bytes | _Closed] = asyncio.Queue()
        self._handshake: asyncio.Future[None] | None = None
        self._body = bytearray()
        self._server_close: tuple[int, str] | None = None

    async def open(self) -> SimulatedConnection:
        if self._state != "new":
            return self
        sim = self.simulator
        if not sim.is_started:
            await sim.start()  # NOTE: a lazy start lasts until the simulator's `aclose`.
        sim.connections.append(self)
        loop = asyncio.get_running_loop()
        self._handshake = loop.create_future()
        self._state = "connecting"
        self._task = loop.create_task(sim.app(self.scope, self._to_app.get, self._asgi_send))
        self._task.add_done_callback(self._app_done)
        await self._to_app.put({"type": "websocket.connect"})
        try:
            await asyncio.wait_for(asyncio.shield(self._handshake), self.timeout)
        except BaseException as exc:
            # NOTE: a refusal (or a timeout) ends the connection; an app error is its cause.
            await stop_task(self._task, self.timeout)
            self.app_error = None
            with contextlib.suppress(ValueError):
                sim.connections.remove(self)
            if isinstance(exc, asyncio.TimeoutError):
                raise ReceiveTimeout(
                    f"no handshake answer from {self.target} within {self.timeout:g}s"
                ) from None
            raise
        return self

    async def aclose(self) -> None:
        """Leave (1000) if still open, wait for the app to finish, cancel it if it does not."""
        if self._state in ("open", "server-closed"):
            await self.close(1000)  # NOTE: records the server's close when it came first
        if self._task is not None:
            await stop_task(self._task, self.timeout)
        with contextlib.suppress(ValueError):
            self.simulator.connections.remove(self)
        error, self.app_error = self.app_error, None
        if error is not None and self.simulator.raise_app_exceptions:
            raise error

    async def wait_app(self, timeout: float | None = None) -> None:
        """Wait until the app is done with this connection (its disconnect handling ran)."""
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=self.timeout if timeout is None else timeout)

    # -- the client side -------------------------------------------------------------

    async def _send(self, data: str | bytes) -> None:
        if self._state != "open":
            code, reason = self._server_close or (1006, "")
            raise WebSocketClosed(
                f"{self.target} is closed by the server with {code}", code, reason
            )
        key = "text" if isinstance(data, str) else "bytes"
        await self._to_app.put({"type": "websocket.receive", key: data})

    async def _next(self) -> str | bytes:
        item = await self._inbox.get()
        if isinstance(item, _Closed):
            raise item
        self.sent_messages.pop(0)
        return item

    # -- the design proposal's shapes (section 6.5.2) -----------------------------------

    async def push_message(self, message: object) -> None:
        """Send the app one inbound frame: `str` and `bytes` as they are, else `send_media`."""
        if isinstance(message, str):
            await self.send_text(message)
        elif isinstance(message, (bytes, bytearray)):
            await self.send_bytes(bytes(message))
        else:
            await self.send_media(message)

    async def pop_sent(self, timeout: float | None = None) -> object:
        """Read the oldest of `sent_messages`, waiting for the app to send it.

        Raises `ReceiveTimeout` when the app sends nothing in time and
        `WebSocketClosed` once it has closed.
        """
        return (await self.receive(timeout)).payload

    async def _close(self, code: int, reason: str) -> tuple[str, int, str]:
        if self._state == "open":
            self._state = "client-closed"
            await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})
            if self._task is not None:
                await asyncio.wait({self._task}, timeout=self.timeout)
            return "sent", code, reason
        # NOTE: the app closed first; its frame is the one that counts.
        while not self._inbox.empty():
            item = self._inbox.get_nowait()
            if isinstance(item, _Closed):
                return "received", item.code, item.reason
            self.sent_messages.pop(0)
        return "sent", code, reason

    # -- the server side: what the app sends -------------------------------------------------

    async def _asgi_send(self, event: Event) -> None:
        kind = event["type"]
        if self._state == "connecting":
            if kind == "websocket.accept":
                self._state = "open"
                self.subprotocol = event.get("subprotocol")
                self._settle()
            elif kind == "websocket.close":
                self._refuse(403)
            elif kind == "websocket.http.response.start":
                self.response_status = event["status"]
            elif kind == "websocket.http.response.body" and self.response_status is not None:
                self._body += event.get("body", b"")
                if not event.get("more_body", False):
                    self._refuse(self.response_status)
            else:
                raise RuntimeError(f"unexpected ASGI message {kind!r} during the handshake")
        elif self._state == "open":
            if kind == "websocket.send":
                text = event.get("text")
                data = (event.get("bytes") or b"") if text is None else text
                self.sent_messages.append(decoded(data))
                await self._inbox.put(data)
            elif kind == "websocket.close":
                self._state = "server-closed"
                code, reason = event.get("code", 1000), event.get("reason") or ""
                self._server_close = (code, reason)
                await self._inbox.put(_Closed(code, reason))
                # NOTE: the client answers the close; the app then sees its disconnect.
                await self._to_app.put(
                    {"type": "websocket.disconnect", "code": code, "reason": reason}
                )
            else:
                raise RuntimeError(f"unexpected ASGI message {kind!r} on an open WebSocket")
        elif self._state == "client-closed":
            raise ClientDisconnected(f"the client left {self.target}")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} after the close")

    def _refuse(self, status: int) -> None:
        self._state = "refused"
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1006})
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(HandshakeRejected(self.target, status, bytes(self._body)))

    def _settle(self) -> None:
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_result(None)

    def _app_done(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        self.app_error = error
        if self._state == "connecting":
            # NOTE: an app that ends (or fails) before answering the handshake is a 500.
            self._state = "refused"
            if self._handshake is not None and not self._handshake.done():
                refused = HandshakeRejected(self.target, 500)
                refused.__cause__ = error
                self._handshake.set_exception(refused)
        elif self._state == "open":
            self._state = "server-closed"
            self._inbox.put_nowait(_Closed(1006, ""))
        if (
            self._handshake is not None
            and self._handshake.done()
            and not self._handshake.cancelled()
        ):
            self._handshake.exception()  # NOTE: mark retrieved: no "never retrieved" warning.


async def stop_task(task: asyncio.Task[Any], grace: float) -> None:
    """Give `task` `grace` seconds to finish, then cancel it and wait for it."""
    if not task.done() and grace > 0:
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
