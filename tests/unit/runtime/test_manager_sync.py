"""Protocol v2 in the manager: buffered joins, users, resync, and backend outages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import pachinko
from pachinko import BackendUnavailable, RoomOptions, WebSocketConnectionManager
from pachinko.backends.base import Frames, JoinResult
from pachinko.backends.memory import MemoryBackend
from pachinko.codecs import JsonCodec
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import nested_frame
from pachinko.runtime.outbox import Outbox
from pachinko.testing import WebSocketSimulator


def member(
    manager: WebSocketConnectionManager, codec: JsonCodec, name: str
) -> tuple[Connection, list[Any], list[int]]:
    """A connection whose writes land in a list."""
    sent: list[Any] = []
    dropped: list[int] = []

    async def record(event: dict[str, Any]) -> None:
        sent.append(event)

    outbox = Outbox(record, codec, nested_frame, on_drop=dropped.append)
    conn = Connection(name, manager=manager, outbox=outbox)
    manager.register(conn)
    return conn, sent, dropped


class RacingBackend(MemoryBackend):
    """A backend whose join suspends after its snapshot, while traffic goes on.

    Two broadcasts land between the snapshot and the reply (live, after top), and
    one already in the snapshot is delivered again (as a process already in the
    room would see it): the joiner must get each exactly once, in order.
    """

    async def join(self, room: str, connection_id: str, **options: Any) -> JoinResult:
        result = await super().join(room, connection_id, **options)
        last = result.history[-1]
        assert self._sink is not None
        self._sink.deliver(room, result.position, last, frozenset())  # offset <= top
        for n in (3, 4):
            frames = Frames({"type": "m", "payload": n}, {"json": JsonCodec()})
            await self.publish(room, frames, frozenset(), history=10, history_ttl=60)
        await asyncio.sleep(0)
        return result


async def test_a_joiner_gets_history_then_exactly_the_live_frames_after_it() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager(RacingBackend(), rooms=[RoomOptions("r", history=10)])
    await manager.start()
    for n in range(3):
        await manager.broadcast("r", "m", n)
    conn, sent, _ = member(manager, codec, "late")
    await conn.join("r")
    await manager.broadcast("r", "m", 5)
    await conn.outbox.wait_sent()
    assert [event["text"] for event in sent] == [
        f'{{"type":"m","payload":{n}}}' for n in (0, 1, 2, 3, 4, 5)
    ]


async def test_identify_indexes_a_user_across_connections() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    tab, tab_sent, _ = member(manager, codec, "tab")
    phone, phone_sent, _ = member(manager, codec, "phone")
    await tab.identify("ann")
    await phone.identify("ann")
    assert tab.user == "ann"
    assert tab.state["user"] == "ann"
    assert await manager.user_connections("ann") == {"tab", "phone"}
    assert await manager.send_to_user("ann", "note", 1) == 2
    await tab.outbox.wait_sent()
    await phone.outbox.wait_sent()
    assert tab_sent[-1]["text"] == phone_sent[-1]["text"] == '{"type":"note","payload":1}'
    await manager.unregister(phone)
    assert await manager.user_connections("ann") == {"tab"}
    with pytest.raises(TypeError):
        await tab.identify({"id": 1})  # type: ignore[arg-type]


async def test_resync_tells_every_local_member_to_reload() -> None:
    codec = JsonCodec()
    manager = WebSocketConnectionManager()
    await manager.start()
    conn, sent, _ = member(manager, codec, "c")
    await conn.join("r")
    manager.resync("r", "gap")
    await conn.outbox.wait_sent()
    assert sent[-1]["text"] == '{"type":"room.resync","payload":{"room":"r","reason":"gap"}}'


class DownBackend(MemoryBackend):
    is_down = False

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_down:
            raise BackendUnavailable("down")
        return await super().publish(*args, **kwargs)

    async def join(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_down:
            raise BackendUnavailable("down")
        return await super().join(*args, **kwargs)


async def test_an_outage_is_an_error_frame_and_the_connection_stays_open() -> None:
    backend = DownBackend()
    router = pachinko.WebSocketRouter(pachinko.WebSocketConnectionManager(backend))

    async def say(conn: pachinko.Connection, payload: object) -> str:
        await conn.broadcast("lobby", "said", payload)
        return "ok"

    router.add_route("/chat", messages={"say": say}, join=["lobby"])
    app = pachinko.App(router=router)
    async with WebSocketSimulator(app) as sim:
        backend.is_down = True
        async with sim.connect("/chat") as ws:
            refused = await ws.receive_json()
            assert refused["payload"]["code"] == "backend_unavailable"
            await ws.send_message("say", "hi", id=1)
            failed = await ws.receive_json()
            assert failed["payload"]["code"] == "backend_unavailable"
            assert failed["id"] == 1
            backend.is_down = False
            await ws.send_message("say", "again", id=2)
            assert (await ws.receive_json())["payload"] == "ok"
