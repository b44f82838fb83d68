"""Handlers of the metrics test app: replies, a crash, a flood, a handler held open."""

from __future__ import annotations

import asyncio
import os
import time

import falcon
import falcon.asgi
import msgspec

from pachinko import Connection, WebSocketResource

BLOB = "x" * 65_536
RELEASE = asyncio.Event()


class Add(msgspec.Struct):
    a: int
    b: int


class Watched(WebSocketResource):
    """The watchers hear how a connection went away (once the runtime has counted it)."""

    async def on_disconnect(self, conn: Connection, code: int) -> None:
        await conn.manager.broadcast("watchers", "gone", {"code": code})


async def add(conn: Connection, payload: Add) -> int:
    return payload.a + payload.b


async def boom(conn: Connection, payload: object) -> None:
    raise RuntimeError("boom")


async def flood(conn: Connection, payload: int) -> int:
    """Broadcast `payload` frames of 64 KiB to the room `flood`; none of them waits."""
    for n in range(payload):
        await conn.manager.broadcast("flood", "blob", {"n": n, "data": BLOB})
    return payload


async def hold(conn: Connection, payload: object) -> str:
    """Say "holding", then wait for `GET /release` (drain.toml)."""
    await conn.send("holding")
    await RELEASE.wait()
    return "released"


class Release:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        RELEASE.set()
        resp.media = "released"


def http() -> falcon.asgi.App:
    """The HTTP app of drain.toml."""
    app = falcon.asgi.App()
    app.add_route("/release", Release())
    return app


async def pid(conn: Connection, payload: object) -> int:
    """The id of the worker process serving this connection."""
    return os.getpid()


async def block(conn: Connection, payload: float) -> str:
    """Say "blocking", then block this worker's event loop: the others accept meanwhile."""
    await conn.send("blocking")
    time.sleep(payload)  # noqa: ASYNC251 (on purpose: this worker accepts nothing meanwhile)
    return "unblocked"
