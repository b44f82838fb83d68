"""Handlers of the limits/flat-envelope test app, and the Falcon app it extends."""

from __future__ import annotations

import falcon
import falcon.asgi
import msgspec

from pachinko import Connection


class Point(msgspec.Struct):
    x: int
    y: int


async def move(conn: Connection, payload: Point) -> Point:
    return Point(payload.x + 1, payload.y + 1)


async def echo(conn: Connection, payload: object) -> object:
    return payload


class Health:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"ok": True}


class PlainSocket:
    """A Falcon WebSocket route of the user's own, next to pachinko's."""

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        await ws.accept()
        await ws.send_text("plain falcon")
        await ws.close()


def create_app() -> falcon.asgi.App:
    app = falcon.asgi.App()
    app.add_route("/health", Health())
    app.add_route("/plain", PlainSocket())
    return app


async def count(conn: Connection, payload: dict[str, object]) -> int:
    return len(payload)
