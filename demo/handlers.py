"""Handlers and hooks of the demo chat."""

from __future__ import annotations

import uuid

from demo.schemas import Nick, Say
from pachinko import Connection, HookEvent

MAX_NICK = 32


def room_of(conn: Connection) -> str:
    """The room this connection joined from its path."""
    return f"chat:{conn.params['room']}"


async def nick_from_query(conn: Connection, event: HookEvent) -> None:
    """Take the first nick from `?nick=`, so presence frames already carry it."""
    assert conn.request is not None
    name = (conn.request.get_param("nick") or "").strip()[:MAX_NICK]
    conn.state["user"] = name or f"guest-{uuid.uuid4().hex[:4]}"


async def nick(conn: Connection, payload: Nick) -> dict[str, str]:
    """Change this connection's nick; the room hears about it."""
    old, conn.state["user"] = conn.state.get("user"), payload.name
    await conn.broadcast(room_of(conn), "renamed", {"from": old, "to": payload.name})
    return {"nick": payload.name}


async def say(conn: Connection, payload: Say) -> dict[str, bool]:
    """Broadcast a message to the room (its sender included) as `said`."""
    said = {"nick": conn.state.get("user"), "text": payload.text}
    await conn.broadcast(room_of(conn), "said", said)
    return {"ok": True}
