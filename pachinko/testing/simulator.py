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
from pachinko.testing.session import Headers
from pachinko.testing.simulated_connection import (
    ClientDisconnected,
    Event,
    SimulatedConnection,
    stop_task,
)

# NOTE: what uvicorn (the server `pachinko serve` runs) announces: spec 2.4 has close reasons
# on `websocket.disconnect`, and the `websocket.http.response` extension for refusals.
ASGI = {"version": "3.0", "spec_version": "2.4"}


class LifespanFailed(PachinkoError):
    """The app's lifespan startup or shutdown failed."""


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
            await stop_task(self._lifespan_task, 0)
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
                await stop_task(self._lifespan_task, self.timeout)
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
        codec: str | None = None,
    ) -> SimulatedConnection:
        """A connection to `path` (may carry `?query`); open it with `async with` or `await`.

        `codec` names what `send_media` writes when the negotiated subprotocol has
        a codec of its own (e.g. "msgpack" for a `[[routes.subprotocols]]` entry).
        """
        self._ports += 1
        scope = self.scope(path, headers=headers, subprotocols=subprotocols, origin=origin)
        scope["client"] = client or ("127.0.0.1", self._ports)
        return SimulatedConnection(
            self,
            scope,
            timeout=self.timeout if timeout is None else timeout,
            trace=self.trace,
            codec=codec,
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


__all__ = ["ClientDisconnected", "LifespanFailed", "SimulatedConnection", "WebSocketSimulator"]
