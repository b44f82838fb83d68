"""Handlers of the e2e test app: every feature of the contract, small."""

from __future__ import annotations

import msgspec

import pachinko
from pachinko import Connection, WebSocketResource, handles_message


class Add(msgspec.Struct):
    a: int
    b: int


class Say(msgspec.Struct):
    text: str


async def add(conn: Connection, payload: Add) -> dict[str, int]:
    return {"sum": payload.a + payload.b}


async def echo(conn: Connection, payload: object) -> object:
    return payload


async def boom(conn: Connection, payload: object) -> None:
    raise RuntimeError("database password is hunter2")


async def say(conn: Connection, payload: Say) -> None:
    room = f"chat:{conn.params['room']}"
    await conn.broadcast(room, "said", {"text": payload.text, "by": conn.id})


async def say_others(conn: Connection, payload: Say) -> None:
    room = f"chat:{conn.params['room']}"
    await conn.broadcast(room, "said", {"text": payload.text}, exclude_self=True)


async def whoami(conn: Connection, payload: object) -> dict[str, object]:
    return {"id": conn.id, "params": conn.params}


async def join_small(conn: Connection, payload: object) -> str:
    await conn.join("small")
    return "joined"


async def twice(conn: Connection, payload: object) -> str:
    await conn.reply("first")
    return "second"


async def set_user(conn: Connection, payload: str) -> None:
    conn.state["user"] = payload


class Items(WebSocketResource):
    """A class-based route: decorator and naming-convention handlers."""

    disconnects: list[tuple[str, int]] = []

    async def on_connect(self, conn: Connection) -> bool | None:
        return conn.request.get_param("deny") != "1"

    async def on_disconnect(self, conn: Connection, code: int) -> None:
        Items.disconnects.append((conn.id, code))
        await conn.manager.broadcast("watchers", "gone", {"id": conn.id, "code": code})

    @handles_message("item.get")
    async def get_item(self, conn: Connection, payload: int) -> dict[str, int]:
        return {"item": payload, "item_id": conn.params["item_id"]}

    async def on_send_message(self, conn: Connection, payload: object) -> str:
        return "convention"

    async def on_overridden(self, conn: Connection, payload: object) -> str:
        return "from the class"


async def overridden(conn: Connection, payload: object) -> str:
    return "from the manifest"


async def watch(conn: Connection, payload: object) -> str:
    await conn.join("watchers")
    return "watching"


class Raw(WebSocketResource):
    """Echoes anything it cannot dispatch, verbatim."""

    async def on_unhandled(self, conn: Connection, raw: str | bytes) -> None:
        await conn.send_raw(raw)


__all__ = ["pachinko"]
