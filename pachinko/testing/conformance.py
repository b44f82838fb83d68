"""The backend conformance suite: what every `pachinko.backends` plugin must do.

Subclass `BackendConformance` in a test module and implement `backends(count)`:
an async context manager yielding `count` started-or-not backends that share
rooms the way separate server processes would (a single-process backend may
yield the same instance `count` times; set `processes = 1`). pachinko's pytest
plugin runs the `async def` tests. See docs/backends.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pachinko.backends.base import Backend, Frames, Position
from pachinko.codecs.builtin import JsonCodec

CODECS = {"json": JsonCodec()}
_decode = JsonCodec().decoder(object)


def frame(type_: str, payload: object = None) -> Frames:
    return Frames({"type": type_, "payload": payload}, CODECS)


class Node:
    """One process: a backend plus a recording `Sink` that knows its local members."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.members: dict[str, set[str]] = {}
        self.local: set[str] = set()
        self.got: dict[str, list[tuple[Position | None, str, object]]] = {}
        self.positions: dict[str, list[Position]] = {}  # room -> positions delivered here
        self._changed = asyncio.Condition()

    def _record(self, conn: str, position: Position | None, frames: Frames) -> None:
        message = _decode(frames["json"])
        self.got.setdefault(conn, []).append((position, message["type"], message["payload"]))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `done()` holds, re-checked after every delivery."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), timeout)

    # -- Sink --
    def deliver(
        self, room: str, position: Position | None, frames: Frames, exclude: frozenset[str]
    ) -> None:
        if position is not None:
            self.positions.setdefault(room, []).append(position)
        for conn in sorted(self.members.get(room, ())):
            if conn not in exclude:
                self._record(conn, position, frames)

    def deliver_direct(self, connection_ids: tuple[str, ...], frames: Frames) -> int:
        found = [conn for conn in connection_ids if conn in self.local]
        for conn in found:
            self._record(conn, None, frames)
        return len(found)

    def resync(self, room: str, reason: str) -> None:
        self.deliver(
            room, None, frame("room.resync", {"room": room, "reason": reason}), frozenset()
        )

    def presence(self, room: str, kind: str, connection_id: str, user: object) -> Frames | None:
        return frame(f"presence.{kind}", {"room": room, "connection": connection_id, "user": user})

    # -- what the manager does around the backend --
    def connect(self) -> str:
        conn = self.backend.new_connection_id()
        self.local.add(conn)
        return conn

    async def join(self, room: str, conn: str, **options: Any) -> Any:
        self.members.setdefault(room, set()).add(conn)
        settings = {"max_members": 0, "history": 0, "history_ttl": 60.0, "user": None}
        settings.update(options)
        presence = self.presence(room, "join", conn, settings["user"])
        result = await self.backend.join(room, conn, presence=presence, **settings)
        if not result.is_joined:
            self.members[room].discard(conn)
        return result

    async def leave(self, room: str, conn: str) -> bool:
        self.members.get(room, set()).discard(conn)
        presence = self.presence(room, "leave", conn, None)
        return await self.backend.leave(room, conn, history_ttl=60.0, presence=presence)

    def types(self, conn: str) -> list[str]:
        return [type_ for _, type_, _ in self.got.get(conn, ())]

    def payloads(self, conn: str, type_: str = "m") -> list[object]:
        return [payload for _, kind, payload in self.got.get(conn, ()) if kind == type_]


class BackendConformance:
    """The shared tests; subclass and implement `backends`."""

    processes = 2  # how many distinct processes `backends` can stand for

    def backends(self, count: int) -> contextlib.AbstractAsyncContextManager[list[Backend]]:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def nodes(self, count: int = 2) -> AsyncIterator[list[Node]]:
        async with self.backends(count) as backends:
            nodes = [Node(backend) for backend in backends]
            started: set[int] = set()
            for node in nodes:
                if id(node.backend) not in started:
                    started.add(id(node.backend))
                    await node.backend.start(node, max_history_bytes=1 << 20)
            if len(started) < count:  # one backend, one sink: the nodes share it
                for node in nodes[1:]:
                    node.members, node.local, node.got = (
                        nodes[0].members,
                        nodes[0].local,
                        nodes[0].got,
                    )
                    node.positions, node._changed = nodes[0].positions, nodes[0]._changed
            try:
                yield nodes
            finally:
                for backend_id in list(started):
                    started.discard(backend_id)
                    backend = next(n.backend for n in nodes if id(n.backend) == backend_id)
                    await backend.stop()

    async def test_join_snapshots_history_and_position(self) -> None:
        async with self.nodes() as (a, b):
            for n in range(5):
                await a.backend.publish("r", frame("m", n), frozenset(), history=3, history_ttl=60)
            result = await b.join("r", b.connect(), history=3)
            assert result.is_joined
            assert [_decode(f["json"])["payload"] for f in result.history] == [2, 3, 4]
            assert result.position.offset == 5
            assert a.backend.is_up
            assert b.backend.is_up

    async def test_max_members_is_exact_under_concurrent_joins(self) -> None:
        async with self.nodes() as nodes:
            joins = [
                nodes[i % 2].join("cap", nodes[i % 2].connect(), max_members=10) for i in range(50)
            ]
            results = await asyncio.gather(*joins)
            assert sum(result.is_joined for result in results) == 10
            assert len(await nodes[0].backend.members("cap")) == 10

    async def test_every_member_sees_one_order(self) -> None:
        async with self.nodes() as (a, b):
            members = [(node, node.connect()) for node in (a, b, a, b)]
            for node, conn in members:
                await node.join("order", conn)

            async def publisher(node: Node, name: str) -> None:
                for n in range(30):
                    await node.backend.publish(
                        "order", frame("m", f"{name}{n}"), frozenset(), history=0, history_ttl=60
                    )

            await asyncio.gather(publisher(a, "x"), publisher(b, "y"), publisher(a, "z"))
            for node, conn in members:
                await node.wait(lambda n=node, c=conn: len(n.payloads(c)) == 90)
            sequences = {tuple(node.payloads(conn)) for node, conn in members}
            assert len(sequences) == 1
            offsets = [p.offset for p, kind, _ in a.got[members[0][1]] if kind == "m"]
            assert offsets == list(range(offsets[0], offsets[0] + 90))

    async def test_a_joiner_gets_history_then_exactly_the_later_broadcasts(self) -> None:
        async with self.nodes() as (a, b):
            stop, busy = asyncio.Event(), asyncio.Event()
            sent: list[int] = []

            async def publish() -> None:
                n = 0
                while not stop.is_set() or n < 40:
                    await a.backend.publish(
                        "busy", frame("m", n), frozenset(), history=5, history_ttl=60
                    )
                    sent.append(n)
                    n += 1
                    if n == 10:
                        busy.set()
                    await asyncio.sleep(0)  # NOTE: a backend that never suspends still interleaves

            task = asyncio.ensure_future(publish())
            await busy.wait()
            conn = b.connect()
            result = await b.join("busy", conn, history=5)
            stop.set()
            await task
            history = [_decode(f["json"])["payload"] for f in result.history]
            await b.wait(
                lambda: (
                    len(b.positions.get("busy", ())) >= 1
                    and b.positions["busy"][-1].offset == len(sent)
                )
            )
            live = [
                p
                for (pos, _, p) in b.got[conn]
                if pos is not None and pos.offset > result.position.offset
            ]
            assert history + live == list(range(history[0], len(sent)))
            assert history[-1] == result.position.offset - 1

    async def test_presence_reaches_the_others_only(self) -> None:
        async with self.nodes() as (a, b):
            first, second = a.connect(), b.connect()
            await a.join("p", first)
            await b.join("p", second, user="ann")
            await a.wait(lambda: "presence.join" in a.types(first))
            assert "presence.join" not in b.types(second)
            assert await b.leave("p", second)
            await a.wait(lambda: "presence.leave" in a.types(first))
            joined = a.payloads(first, "presence.join")[0]
            assert joined == {"room": "p", "connection": second, "user": "ann"}

    async def test_send_to_reaches_a_connection_on_any_process(self) -> None:
        async with self.nodes() as (a, b):
            target = b.connect()
            assert await a.backend.send_to(target, frame("dm", 1))
            await b.wait(lambda: b.payloads(target, "dm") == [1])
            assert not await a.backend.send_to("gone.0", frame("dm", 2))

    async def test_users_are_indexed_on_every_process(self) -> None:
        async with self.nodes() as (a, b):
            tab, phone = a.connect(), b.connect()
            await a.backend.identify(tab, "ann")
            await b.backend.identify(phone, "ann")
            assert await a.backend.user_connections("ann") == {tab, phone}
            assert await b.backend.send_to_user("ann", frame("note", "hi")) == 2
            await a.wait(lambda: a.payloads(tab, "note") == ["hi"])
            await b.wait(lambda: b.payloads(phone, "note") == ["hi"])
            await b.backend.forget(phone)
            assert await a.backend.user_connections("ann") == {tab}
            assert await a.backend.user_connections("bob") == set()

    async def test_leave_is_idempotent_and_rooms_follow_members(self) -> None:
        async with self.nodes() as (a, b):
            conn = a.connect()
            await a.join("l", conn)
            assert await b.backend.rooms() >= {"l"}
            assert await a.leave("l", conn)
            assert not await a.leave("l", conn)
            assert await b.backend.members("l") == set()
            assert "l" not in await b.backend.rooms()

    async def test_exclude_and_positions_follow_the_join(self) -> None:
        async with self.nodes() as (a, b):
            x, y = a.connect(), b.connect()
            joined = await a.join("e", x)
            await b.join("e", y)
            position = await b.backend.publish(
                "e", frame("m", 1), frozenset((y,)), history=0, history_ttl=60
            )
            assert position.epoch == joined.position.epoch
            assert position.offset == joined.position.offset + 1
            await a.wait(lambda: a.payloads(x) == [1])
            await a.backend.publish("e", frame("m", 2), frozenset(), history=0, history_ttl=60)
            await b.wait(lambda: b.payloads(y) == [2])
