"""What the runtime answers when a message cannot be served: error frames, refusals,
handler failures, and `Close` with the server-side closes it leads to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from pachinko.codecs.base import Codec
from pachinko.errors import BackendUnavailable, Reject, RoomFull
from pachinko.runtime.connection import Connection, log_fields
from pachinko.runtime.crashes import CrashLog
from pachinko.runtime.dispatch import Entry
from pachinko.runtime.frames import (
    Envelope,
    envelope_reason,
    error_payload,
    is_well_formed,
    payload_reason,
)
from pachinko.runtime.outbox import Send
from pachinko.runtime.shared import Shared

log = logging.getLogger("pachinko")
crashes = CrashLog(log)

Unhandled = Callable[[Connection, "str | bytes"], Awaitable[object]]
Receive = Callable[[], Awaitable[Any]]


class Close(Exception):
    """Leave the message loop and close the connection with `code`."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


async def send_error(conn: Connection, code: str, message: str, id_: str | int | None) -> None:
    """Answer with an error frame (DESIGN's error table; the connection stays open)."""
    conn.stats.error_sent(code)
    outbox = conn.outbox
    await outbox.write(outbox.encode("error", error_payload(code, message), id_))


async def refuse(conn: Connection, refused: int, burst: int) -> None:
    """Refuse a frame over the rate; `burst` refusals in a row close with 1008."""
    if refused >= burst:
        raise Close(1008, "rate limit exceeded")
    await send_error(conn, "rate_limited", "too many messages", None)


async def undecodable(
    conn: Connection, codec: Codec, unhandled: Unhandled | None, data: str | bytes, exc: Exception
) -> None:
    """A frame whose envelope could not be decoded: `invalid_json` or `invalid_envelope`."""
    conn.stats.other.refused += 1
    if unhandled is not None:
        await unhandled(conn, data)
    elif isinstance(exc, msgspec.ValidationError) and is_well_formed(codec, data):
        await send_error(conn, "invalid_envelope", envelope_reason(exc), None)
    else:
        await send_error(conn, "invalid_json", f"frame is not valid {codec.name}", None)


async def unknown_type(
    conn: Connection, unhandled: Unhandled | None, data: str | bytes, envelope: Envelope
) -> None:
    """A frame whose type no handler takes: `on_unhandled`, else `unknown_type`."""
    conn.stats.other.refused += 1
    if unhandled is not None:
        await unhandled(conn, data)
    else:
        reason = f"no handler for message type {envelope.type!r}"
        await send_error(conn, "unknown_type", reason, envelope.id)


async def invalid_payload(
    conn: Connection, codec: Codec, exc: Exception, envelope: Envelope, is_flat: bool
) -> None:
    """A payload its schema refuses (`invalid_payload`), or one the decoder cannot read."""
    if isinstance(exc, msgspec.ValidationError):
        reason = payload_reason(str(exc), is_flat)
        await send_error(conn, "invalid_payload", reason, envelope.id)
    else:
        await send_error(conn, "invalid_json", f"frame is not valid {codec.name}", envelope.id)


async def handler_failed(
    conn: Connection, entry: Entry, envelope: Envelope, exc: Exception
) -> None:
    """A handler raised: `Reject` closes; room_full, backend_unavailable, else logged."""
    if isinstance(exc, Reject):
        raise exc
    if isinstance(exc, RoomFull):
        await send_error(conn, "room_full", f"room {exc.room!r} is full", envelope.id)
        return
    if isinstance(exc, BackendUnavailable):
        log.warning("backend unavailable for %r on connection %s", envelope.type, conn.id)
        reason = "the backend could not be reached in time"
        await send_error(conn, "backend_unavailable", reason, envelope.id)
        return
    name = getattr(entry.call, "__qualname__", None) or repr(entry.call)
    crashes.crashed(name, envelope.type, conn.id, exc, log_fields(conn, entry.stats.type))
    await send_error(conn, "internal_error", "internal error", envelope.id)


async def close_from_server(
    conn: Connection, shared: Shared, receive: Receive, stop: Close | Reject
) -> int:
    """Close from the server's side (one log line), then wait briefly for the client."""
    code, reason = stop.code or 1008, stop.reason  # NOTE: a Reject without a code is 1008
    level = logging.DEBUG if code == 1001 else logging.INFO if code >= 4000 else logging.WARNING
    log.log(
        level,
        "closing connection %s with %d (%s)",
        conn.id,
        code,
        reason or "no reason",
        extra={**log_fields(conn), "close_code": code},
    )
    await conn.close(code, reason)
    shared.settled(conn)

    async def drain() -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass

    with contextlib.suppress(Exception):
        await asyncio.wait_for(drain(), 5.0)
    return code


async def close_quietly(send: Send, code: int) -> None:
    """Send a close frame unless the socket is stuck or gone."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(send({"type": "websocket.close", "code": code}), 1.0)
