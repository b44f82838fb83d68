"""pachinko, wired by hand (rate limit off, so a throughput run is not refused)."""

from __future__ import annotations

from typing import Any

import pachinko
from bench.workload import ROOM, Add, Echo, Fanout, Mean, Stats, Sum, mean


async def add(conn: pachinko.Connection, payload: Add) -> Sum:
    return Sum(payload.a + payload.b)


async def echo(conn: pachinko.Connection, payload: Echo) -> Echo:
    return payload


async def stats(conn: pachinko.Connection, payload: Stats) -> Mean:
    return Mean(mean(payload.values))


async def fanout(conn: pachinko.Connection, payload: Fanout) -> None:
    await conn.broadcast(ROOM, "news", payload)


def make() -> Any:
    router = pachinko.WebSocketRouter(limits=pachinko.Limits(rate_count=0))
    app = pachinko.App(router=router)
    router.add_route("/ws", messages={"add": add, "echo": echo, "stats": stats})
    router.add_route("/room", messages={"fanout": fanout}, join=[ROOM])
    return app
