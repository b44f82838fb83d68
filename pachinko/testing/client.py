"""`WebSocketTestClient`: a real WebSocket client (the `websockets` library) for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from inspect import signature
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from pachinko.errors import PachinkoError
from pachinko.testing.session import (
    BaseClient,
    HandshakeRejected,
    Headers,
    ReceiveTimeout,
    WebSocketClosed,
    _Closed,
)
from pachinko.testing.trace import Frame, recording

# NOTE: websockets >= 15 follows $HTTPS_PROXY & co. by default; a test talks to loopback.
_NO_PROXY: dict[str, Any] = {"proxy": None} if "proxy" in signature(connect).parameters else {}

__all__ = [
    "BaseClient",
    "Frame",
    "HandshakeRejected",
    "InsecureURL",
    "ReceiveTimeout",
    "WebSocketClosed",
    "WebSocketTestClient",
    "recording",
]


class InsecureURL(PachinkoError, ValueError):
    """`connect` was asked for a plain `ws://` URL without `allow_insecure=True`."""


class WebSocketTestClient(BaseClient):
    """A real WebSocket client (the `websockets` library) with the frame helpers.

    Two ways to use it. As the design proposal shows, a client for an app URL
    whose `connect(path)` opens one session per `async with`:

        client = WebSocketTestClient("wss://chat.example.com", subprotocols=["chat.v2"])
        async with client.connect("/ws/chat/lobby") as session: ...

    (`connect` refuses plain `ws://` unless `allow_insecure=True`, as for a local
    test server.) Or as a session itself, for the URL of one route:
    `async with WebSocketTestClient(server.url + "/ws/chat/lobby") as session: ...`.
    A refused handshake raises `HandshakeRejected` with its HTTP status.
    """

    def __init__(
        self,
        app_url: str,
        *,
        headers: Headers | None = None,
        subprotocols: Iterable[str] | None = None,
        allow_insecure: bool = False,
        origin: str | None = None,
        timeout: float = 2.0,
        trace: bool = True,
        max_size: int | None = None,
        codec: str | None = None,
    ) -> None:
        super().__init__(app_url, timeout=timeout, trace=trace, codec=codec)
        self.url = app_url
        self.headers = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        self.subprotocols = [Subprotocol(s) for s in subprotocols or ()]
        self.allow_insecure = allow_insecure
        self.origin = origin
        self.max_size = max_size
        self.ws: ClientConnection | None = None

    def connect(
        self,
        path: str = "",
        *,
        headers: Headers | None = None,
        subprotocols: Iterable[str] | None = None,
    ) -> WebSocketTestClient:
        """A session to `path` under this client's URL; open it with `async with`.

        It has this client's headers (plus `headers`), subprotocols (unless
        `subprotocols` is given) and options; leaving the block closes it (1000),
        even when an assertion failed inside.

        Raises:
            InsecureURL: the URL is plain `ws://` (or `http://`) and `allow_insecure`
                is False.
        """
        scheme, _, rest = self.url.partition("://")
        scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
        url = f"{scheme}://{rest.rstrip('/')}{path}"
        if scheme != "wss" and not self.allow_insecure:
            raise InsecureURL(
                f"refusing {url}: it is not encrypted (not wss://); pass "
                "allow_insecure=True to WebSocketTestClient for a local test server"
            )
        extra = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        return WebSocketTestClient(
            url,
            headers=[*self.headers, *extra],
            subprotocols=self.subprotocols if subprotocols is None else subprotocols,
            allow_insecure=self.allow_insecure,
            origin=self.origin,
            timeout=self.timeout,
            trace=self.trace,
            max_size=self.max_size,
            codec=self.codec,
        )

    async def open(self) -> WebSocketTestClient:
        if self.ws is not None:
            return self
        try:
            self.ws = await connect(
                self.url,
                additional_headers=self.headers,
                subprotocols=self.subprotocols or None,
                origin=Origin(self.origin) if self.origin is not None else None,
                max_size=self.max_size,
                ping_interval=None,
                open_timeout=self.timeout,
                **_NO_PROXY,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise HandshakeRejected(self.url, response.status_code, response.body or b"") from exc
        self.subprotocol = self.ws.subprotocol
        return self

    async def aclose(self) -> None:
        if self.ws is None:
            return
        if self._close_code is None:
            await self.close(1000)
        await self.ws.close()

    async def _send(self, data: str | bytes) -> None:
        assert self.ws is not None, "open the client first"
        try:
            await self.ws.send(data)
        except ConnectionClosed as exc:
            code, reason = _close_of(exc)
            self._record("received", "close", reason, code)
            raise self._closed_error() from None

    async def _next(self) -> str | bytes:
        assert self.ws is not None, "open the client first"
        try:
            return await self.ws.recv()
        except ConnectionClosed as exc:
            raise _Closed(*_close_of(exc)) from None

    async def _close(self, code: int, reason: str) -> tuple[str, int, str]:
        assert self.ws is not None, "open the client first"
        received = self.ws.protocol.close_rcvd
        await self.ws.close(code, reason)
        if received is not None:  # the server had closed first; its frame is the one that counts
            return "received", received.code, received.reason
        return "sent", code, reason


def _close_of(exc: ConnectionClosed) -> tuple[int, str]:
    """(code, reason) of the close frame the server sent; 1006 when it sent none."""
    if exc.rcvd is None:
        return 1006, ""
    return exc.rcvd.code, exc.rcvd.reason
