"""Handlers of the app the multi-process tests serve: rooms, direct sends, users."""

from __future__ import annotations

from typing import Any

from pachinko import Connection


async def join(conn: Connection, payload: dict[str, Any]) -> str:
    await conn.join(payload["room"])
    return payload["room"]


async def leave(conn: Connection, payload: dict[str, Any]) -> str:
    await conn.leave(payload["room"])
    return payload["room"]


async def say(conn: Connection, payload: dict[str, Any]) -> str:
    await conn.broadcast(payload["room"], "said", payload)
    return "ok"


async def whoami(conn: Connection, payload: object) -> str:
    return conn.id


async def dm(conn: Connection, payload: dict[str, Any]) -> bool:
    return await conn.manager.send_to(payload["to"], "dm", payload["n"])


async def login(conn: Connection, payload: dict[str, Any]) -> object:
    await conn.identify(payload["user"])
    return conn.user


async def to_user(conn: Connection, payload: dict[str, Any]) -> int:
    return await conn.manager.send_to_user(payload["user"], "note", payload["n"])


async def members(conn: Connection, payload: dict[str, Any]) -> list[str]:
    return sorted(await conn.manager.members(payload["room"]))
