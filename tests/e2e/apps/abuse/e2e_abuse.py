"""Handlers of the abuse probes: a steady broadcast source, slow work, an echo."""

from __future__ import annotations

import asyncio

import msgspec

from pachinko import Connection


class Blast(msgspec.Struct):
    count: int
    size: int
    every: float


class Work(msgspec.Struct):
    n: int
    seconds: float


async def blast(conn: Connection, payload: Blast) -> str:
    """Broadcast `count` numbered frames of `size` bytes to the room, one every `every` s."""
    pad = "x" * payload.size
    for seq in range(payload.count):
        await conn.broadcast("fan", "tick", {"seq": seq, "pad": pad})
        await asyncio.sleep(payload.every)
    return "blasted"


async def work(conn: Connection, payload: Work) -> dict[str, int]:
    """Say it started, take `seconds`, then answer."""
    await conn.send("started", payload.n)
    await asyncio.sleep(payload.seconds)
    return {"n": payload.n}


async def echo(conn: Connection, payload: object) -> object:
    return payload
