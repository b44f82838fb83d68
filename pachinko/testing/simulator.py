"""`WebSocketSimulator`: drive a built app through ASGI, in-process, with no server or socket."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import falcon.asgi

from pachinko.build import build
from pachinko.errors import PachinkoError
from pachinko.manifest import Manifest
from pachinko.testing.client import (
    BaseClient,
    HandshakeRejected,
    Headers,
    ReceiveTimeout,
    WebSocketClosed,
    _Closed,
)

Event = dict[str, Any]

# NOTE: what uvicorn (the server `pachinko serve` runs) announces: spec 2.4 has close reasons
# on `websocket.disconnect`, and the `websocket.http.response` extension for refusals.
ASGI = {"version": "3.0", "spec_version": "2.4"}


class LifespanFailed(PachinkoError):
    """The app's lifespan startup or shutdown failed."""


class ClientDisconnected(OSError):
    """Raised to the app when it sends on a connection the client has left (as servers do)."""


class WebSocketSimulator:
    """Run an app in-process: lifespan around the `async with`, connections by `connect`.

    `app` is a built app (any ASGI app), a `Manifest`, or the path of a manifest.
    No socket is opened, so frame-size limits are the app's own
    (`[limits] max_message_bytes`).
    """

    __test__ = False

    def __init__(
        self,
        app: falcon.asgi.App | Manifest | str | os.PathLike[str] | Callable[..., Any],
        *,
        host: str = "testserver",
        lifespan: bool = True,
        timeout: float = 2.0,
        trace: bool = True,
        raise_app_exceptions: bool = True,
    ) -> None:
        self.app: Any = build(app) if isinstance(app, (Manifest, str, os.PathLike)) else app
        self.host = host
        self.lifespan = lifespan
        self.timeout = timeout
        self.trace = trace
        self.raise_app_exceptions = raise_app_exceptions
        self.state: dict[str, Any] = {}
        self.connections: list[SimulatedConnection] = []
        self._depth = 0
        self._lifespan_task: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Event] = asyncio.Queue()
        self._from_app: asyncio.Queue[Event] = asyncio.Queue()
        self._ports = 50000

    @property
    def is_started(self) -> bool:
        return self._depth > 0

    async def start(self) -> WebSocketSimulator:
        """Run lifespan startup (once; nested starts are counted)."""
        self._depth += 1
        if self._depth > 1 or not self.lifespan:
            return self
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": dict(ASGI), "state": self.state}
        self._lifespan_task = asyncio.get_running_loop().create_task(
            self.app(scope, self._to_app.get, self._from_app.put)
        )
        try:
            await self._lifespan("startup")
        except BaseException:
            self._depth = 0
            await _stop_task(self._lifespan_task, 0)
            raise
        return self

    async def aclose(self) -> None:
        """Close every open connection, then run lifespan shutdown; leaves no task behind."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth > 0:
            return
        errors: list[BaseException] = []
        for conn in list(self.connections):
            try:
                await conn.aclose()
            except Exception as exc:
                errors.append(exc)
        if self._lifespan_task is not None:
            try:
                if not self._lifespan_task.done():
                    await self._lifespan("shutdown")
            finally:
                await _stop_task(self._lifespan_task, self.timeout)
                self._lifespan_task = None
        if errors:
            raise errors[0]

    async def __aenter__(self) -> WebSocketSimulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.aclose()
            return
        # NOTE: the test already failed; cleanup problems must not hide its error.
        with contextlib.suppress(Exception):
            await self.aclose()

    async def _lifespan(self, phase: str) -> None:
        task = self._lifespan_task
        assert task is not None
        await self._to_app.put({"type": f"lifespan.{phase}"})
        getter = asyncio.ensure_future(self._from_app.get())
        try:
            await asyncio.wait(
                {getter, task}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            getter.cancel()
        if getter.done() and not getter.cancelled():
            event = getter.result()
        elif task.done():
            error = task.exception()
            raise LifespanFailed(f"the app ended during lifespan {phase}: {error!r}") from error
        else:
            raise LifespanFailed(f"lifespan {phase} did not finish within {self.timeout:g}s")
        if event["type"] != f"lifespan.{phase}.complete":
            raise LifespanFailed(f"lifespan {phase} failed: {event.get('message', '')}")

    def connect(
        self,
        path: str,
        *,
        headers: Headers | None = None,
        subprotocols: Iterable[str] = (),
        origin: str | None = None,
        client: tuple[str, int] | None = None,
        timeout: float | None = None,
    ) -> SimulatedConnection:
        """A connection to `path` (may carry `?query`); open it with `async with` or `await`."""
        self._ports += 1
        scope = self.scope(path, headers=headers, subprotocols=subprotocols, origin=origin)
        scope["client"] = client or ("127.0.0.1", self._ports)
        return SimulatedConnection(
            self,
            scope,
            timeout=self.timeout if timeout is None else timeout,
            trace=self.trace,
        )

    def scope(
        self,
        path: str,
        *,
        headers: Headers | None = None,
        subprotocols: Iterable[str] = (),
        origin: str | None = None,
    ) -> dict[str, Any]:
        """The ASGI websocket scope a server would build for this handshake."""
        split = urlsplit(path)
        raw_path = quote(split.path or "/", safe="/%:@!$&'()*+,;=-._~")
        offered = list(subprotocols)
        given = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        names = {name.lower() for name, _ in given}
        pairs: list[tuple[str, str]] = []
        if "host" not in names:
            pairs.append(("host", self.host))
        pairs += [
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", base64.b64encode(os.urandom(16)).decode()),
        ]
        if offered:
            pairs.append(("sec-websocket-protocol", ", ".join(offered)))
        if origin is not None and "origin" not in names:
            pairs.append(("origin", origin))
        pairs += given
        host, _, port = self.host.partition(":")
        return {
            "type": "websocket",
            "asgi": dict(ASGI),
            "http_version": "1.1",
            "scheme": "ws",
            "server": (host, int(port or 80)),
            "client": ("127.0.0.1", self._ports),
            "root_path": "",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("ascii"),
            "query_string": split.query.encode("ascii"),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs],
            "subprotocols": offered,
            "state": dict(self.state),
            "extensions": {"websocket.http.response": {}},
        }


class SimulatedConnection(BaseClient):
    """One in-process WebSocket connection; the app runs in a task of its own.

    It behaves as uvicorn does: a close before accept is an HTTP 403 refusal, an
    app that returns without closing leaves the client with 1006, and a send after
    the client left raises `ClientDisconnected` in the app.
    """

    def __init__(
        self, simulator: WebSocketSimulator, scope: dict[str, Any], *, timeout: float, trace: bool
    ) -> None:
        query = scope["query_string"].decode()
        super().__init__(
            scope["path"] + (f"?{query}" if query else ""), timeout=timeout, trace=trace
        )
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
            await _stop_task(self._task, self.timeout)
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
            await _stop_task(self._task, self.timeout)
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
        return item

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
                await self._inbox.put((event.get("bytes") or b"") if text is None else text)
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


async def _stop_task(task: asyncio.Task[Any], grace: float) -> None:
    """Give `task` `grace` seconds to finish, then cancel it and wait for it."""
    if not task.done() and grace > 0:
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
