"""Handlers of the testing kit's own app."""

from __future__ import annotations

import asyncio

import msgspec

from pachinko import Connection, HookEvent, Reject, WebSocketResource

EVENTS: list[str] = []


class Add(msgspec.Struct):
    a: int
    b: int


async def echo(conn: Connection, payload: object) -> object:
    return payload


async def add(conn: Connection, payload: Add) -> int:
    return payload.a + payload.b


async def boom(conn: Connection, payload: object) -> None:
    raise RuntimeError("secret detail")


async def bye(conn: Connection, payload: object) -> None:
    await conn.close(4001, "bye")


async def say(conn: Connection, payload: str) -> None:
    await conn.broadcast(f"room:{conn.params['name']}", "said", {"text": payload, "by": conn.id})


async def require_token(conn: Connection, event: HookEvent) -> None:
    if conn.request.get_param("token") != "secret":
        raise Reject()


async def lifespan_worker(ctx: object) -> None:
    EVENTS.append("started")
    try:
        await asyncio.Event().wait()
    finally:
        EVENTS.append("stopped")


class Room(WebSocketResource):
    """Records disconnects, so tests can see `on_disconnect` ran."""

    async def on_disconnect(self, conn: Connection, code: int) -> None:
        EVENTS.append(f"left {code}")
