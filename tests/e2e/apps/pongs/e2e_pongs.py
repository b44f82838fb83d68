"""Handler of the pong-activity test app."""

from __future__ import annotations

from pachinko import Connection


async def echo(conn: Connection, payload: object) -> object:
    return payload
