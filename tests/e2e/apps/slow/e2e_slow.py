"""Handlers of the slow-consumer test app."""

from __future__ import annotations

from pachinko import Connection, WebSocketResource

BLOB = "x" * 65_536


class Listener(WebSocketResource):
    """A member of `flood`; the watchers hear how it went away."""

    async def on_disconnect(self, conn: Connection, code: int) -> None:
        await conn.manager.broadcast("watchers", "gone", {"id": conn.id, "code": code})


async def flood(conn: Connection, payload: int) -> int:
    """Broadcast `payload` frames of 64 KiB to the room `flood`; none of them waits."""
    for n in range(payload):
        await conn.manager.broadcast("flood", "blob", {"n": n, "data": BLOB})
    return payload


async def echo(conn: Connection, payload: object) -> object:
    return payload
