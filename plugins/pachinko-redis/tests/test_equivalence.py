"""The same joins, leaves and sends give every client byte-identical frames on memory and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pachinko_redis import RedisBackend, RedisConfig
from redis_harness import RedisServer

from pachinko import RoomFull, RoomOptions, WebSocketConnectionManager
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import nested_frame
from pachinko.runtime.outbox import Outbox

ROOMS = [RoomOptions("h:{x}", presence=True, history=3), RoomOptions("cap", max_members=2)]
NAMES = ("h:a", "h:b", "cap", "plain")
CONNECTIONS = 4

op = st.one_of(
    st.tuples(st.just("join"), st.integers(0, CONNECTIONS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("leave"), st.integers(0, CONNECTIONS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("say"), st.integers(0, CONNECTIONS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("dm"), st.integers(0, CONNECTIONS - 1), st.integers(0, CONNECTIONS - 1)),
)


class Wire:
    """Connections whose writes are recorded, with a condition to wait on their count."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Any]] = {}
        self.changed = asyncio.Condition()

    def connect(self, manager: WebSocketConnectionManager, name: str) -> Connection:
        self.sent[name] = []

        async def send(event: dict[str, Any]) -> None:
            self.sent[name].append(event.get("text"))
            async with self.changed:
                self.changed.notify_all()

        outbox = Outbox(send, manager.codecs["json"], nested_frame)
        conn = Connection(name, manager=manager, outbox=outbox)
        manager.register(conn)
        return conn


async def apply(conn: Connection, kind: str, what: Any, ids: list[str], number: int) -> None:
    if kind == "join":
        try:
            await conn.join(what)
        except RoomFull:
            await conn.send("full")
    elif kind == "leave":
        await conn.leave(what)
    elif kind == "say":
        await conn.broadcast(what, "said", {"n": number})
    else:
        await conn.manager.send_to(ids[what], "dm", {"n": number})


async def caught_up(got: Wire, expected: Wire) -> None:
    """Wait until every Redis-side connection has as many frames as its memory twin."""
    want = {name: len(frames) for name, frames in expected.sent.items()}
    async with got.changed:
        await asyncio.wait_for(
            got.changed.wait_for(lambda: all(len(got.sent[n]) >= want[n] for n in want)), 10
        )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_memory_and_redis_send_the_same_bytes(
    ops: list[tuple[Any, ...]], redis_server: RedisServer
) -> None:
    async def run() -> None:
        prefix = f"eq{id(ops)}{len(ops)}"
        backends = [RedisBackend(RedisConfig(url=redis_server.url, prefix=prefix)) for _ in "ab"]
        managers = [WebSocketConnectionManager(b, rooms=ROOMS) for b in backends]
        memory = WebSocketConnectionManager(rooms=ROOMS)
        for manager in (*managers, memory):
            await manager.start()
        try:
            ids = [f"{backends[n % 2].node}.c{n}" for n in range(CONNECTIONS)]
            expected, got = Wire(), Wire()
            twins = [
                (expected.connect(memory, ids[n]), got.connect(managers[n % 2], ids[n]))
                for n in range(CONNECTIONS)
            ]
            for number, (kind, who, what) in enumerate(ops):
                # NOTE: lockstep: an async backend delivers after `await` returns; wait for
                # receipt before the next step, as a client would before acting on it.
                for conn in twins[who]:
                    await apply(conn, kind, what, ids, number)
                await caught_up(got, expected)
            assert got.sent == expected.sent
        finally:
            for manager in (*managers, memory):
                await manager.stop()

    asyncio.run(run())
