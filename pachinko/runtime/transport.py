"""The two ways a connection reaches its socket: raw ASGI, or Falcon's `WebSocket`."""

from __future__ import annotations

from typing import Any, Protocol

import falcon.asgi

from pachinko import shim
from pachinko.runtime.frames import Event


class Transport(Protocol):
    """How a connection reaches its socket: the upgrade scope, ASGI events, accept and deny."""

    scope: dict[str, Any]

    @property
    def request(self) -> falcon.asgi.Request: ...

    def header(self, name: bytes) -> str | None: ...

    async def receive(self) -> Event: ...

    async def send(self, event: Event) -> None: ...

    async def accept(self, subprotocol: str | None) -> None: ...

    async def deny(self) -> None: ...


class AsgiTransport:
    """Straight from ASGI (a `pachinko.App`): no buffered receive task in between.

    The Falcon `Request` is built only when someone asks for `conn.request`.
    """

    __slots__ = ("_request", "options", "receive", "scope", "send")

    def __init__(self, scope: dict[str, Any], receive: Any, send: Any, options: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.options = options
        self._request: falcon.asgi.Request | None = None

    @property
    def request(self) -> falcon.asgi.Request:
        if self._request is None:
            # NOTE: the app's shared options; without them Falcon builds new ones each time.
            self._request = falcon.asgi.Request(self.scope, self.receive, options=self.options)
        return self._request

    def header(self, name: bytes) -> str | None:
        """A request header by its lower-case name."""
        for key, value in self.scope.get("headers", ()):
            if key == name:
                return value.decode("latin-1")
        return None

    async def accept(self, subprotocol: str | None) -> None:
        event: Event = {"type": "websocket.accept"}
        if subprotocol:
            event["subprotocol"] = subprotocol
        await self.send(event)

    async def deny(self) -> None:
        """Refuse the handshake: a close before accept is HTTP 403."""
        await self.send({"type": "websocket.close", "code": 1008})


class FalconTransport:
    """Through Falcon's `WebSocket`, for apps wired with `install` (their middleware runs)."""

    __slots__ = ("request", "scope", "ws")

    def __init__(self, request: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        self.request = request
        self.scope = request.scope
        self.ws = ws

    def header(self, name: bytes) -> str | None:
        return self.request.get_header(name.decode())

    async def receive(self) -> Event:
        return await shim.websocket_receive(self.ws)

    async def send(self, event: Event) -> None:
        if event["type"] == "websocket.close":
            await self.ws.close(event["code"], event.get("reason") or None)
        else:
            await shim.websocket_send(self.ws, event)

    async def accept(self, subprotocol: str | None) -> None:
        await self.ws.accept(subprotocol=subprotocol)

    async def deny(self) -> None:
        await self.ws.close()
