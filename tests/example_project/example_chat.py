"""Handlers of the example project."""

from __future__ import annotations

import msgspec

from pachinko import Connection


class Greet(msgspec.Struct):
    name: str


async def greet(conn: Connection, payload: Greet) -> str:
    return f"Hello, {payload.name}!"


async def shout(conn: Connection, payload: Greet) -> None:
    await conn.broadcast("lobby", "shouted", payload.name.upper())
