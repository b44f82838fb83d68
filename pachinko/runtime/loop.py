"""The per-message loop (`message_loop`: receive, limit, decode once, dispatch, reply);
every cold branch (errors, `on_unhandled`, hooks, failures, refusals) is a function."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any

import msgspec

from pachinko.codecs.base import Codec
from pachinko.errors import BackendUnavailable, Reject, RoomFull
from pachinko.runtime.connection import Connection, log_fields
from pachinko.runtime.crashes import CrashLog
from pachinko.runtime.dispatch import DispatchTable, Entry
from pachinko.runtime.frames import (
    Envelope,
    decode_flat,
    envelope_reason,
    error_payload,
    is_well_formed,
    payload_reason,
)
from pachinko.runtime.hooks import Hook, HookEvent, Message, run_hooks
from pachinko.runtime.rate import TokenBucket
from pachinko.runtime.shared import Shared
from pachinko.runtime.stats import BOUNDS

log = logging.getLogger("pachinko")
crashes = CrashLog(log)

Receive = Callable[[], Awaitable[Any]]
Unhandled = Callable[[Connection, "str | bytes"], Awaitable[object]]


class Close(Exception):
    """Leave the message loop and close the connection with `code`."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


async def message_loop(
    conn: Connection,
    shared: Shared,
    table: DispatchTable,
    resource: object,
    before: tuple[Hook, ...],
    after: tuple[Hook, ...],
    receive: Receive,
) -> int:
    """Serve one connection's messages until the client goes; return its close code.

    Raises `Close` when the server ends the connection (limits, draining).
    """
    limits = shared.limits
    outbox = conn.outbox
    activity = conn.activity
    codec: Codec = outbox.codec
    send = outbox.send
    entries = table.entries
    decode_envelope = shared.envelope_decoder(codec)
    is_flat = shared.is_flat
    null = shared.null_payload(codec)
    has_hooks = bool(before or after)
    unhandled: Unhandled | None = getattr(resource, "on_unhandled", None)
    max_bytes = limits.max_message_bytes
    clock = monotonic
    bucket = TokenBucket(limits.rate_count, limits.rate_per, limits.burst, clock())
    take = bucket.take if limits.rate_count > 0 else None
    refused = 0
    encode = outbox.encode_bytes
    framer = shared.framer
    is_binary = codec.is_binary
    is_counting, fast_bound = shared.stats.is_counting_messages, BOUNDS[0]
    route_stats = conn.stats

    # PERF: `while True` with the check inside: `while not shared.is_draining` made the
    # loop ~0.5 us/msg slower on CPython 3.11 (measured; even with a local flag).
    while True:
        if shared.is_draining:
            raise Close(1001, "server shutdown")
        # NOTE: drop the last message before waiting: an idle connection keeps nothing.
        event = data = envelope = payload = result = None  # type: ignore[assignment]
        event = await receive()
        if event["type"] != "websocket.receive":
            return int(event.get("code", 1005))
        data = event.get("text")
        if data is None:
            data = event.get("bytes") or b""
        now = clock()
        activity.last = now
        if len(data) > max_bytes or (
            isinstance(data, str) and len(data) * 4 > max_bytes and len(data.encode()) > max_bytes
        ):
            raise Close(1009, "frame too large")
        if take is not None:
            if not take(now):
                refused += 1
                await refuse(conn, refused, limits.burst)
                continue
            refused = 0

        # -- decode the envelope once --
        try:
            if is_flat:
                envelope, fields = decode_flat(decode_envelope, data)
            else:
                envelope = decode_envelope(data)
                fields = None
        except Exception as exc:
            await undecodable(conn, codec, unhandled, data, exc)
            continue

        entry = entries.get(envelope.type) or table.find(envelope.type)
        if entry is None:
            await unknown_type(conn, unhandled, data, envelope)
            continue
        try:
            if fields is None:
                payload = entry.decode(envelope.payload or null)
            else:
                payload = msgspec.convert(fields, entry.convert_type)
        except Exception as exc:
            entry.stats.refused += 1
            await invalid_payload(conn, codec, exc, envelope, is_flat)
            continue

        conn.reply_type = entry.reply
        conn.message_id = envelope.id
        if has_hooks:
            await dispatch_hooked(conn, resource, entry, envelope, payload, before, after)
            conn.reply_type = ""
            if is_counting:
                entry.stats.observe(clock() - now)
            continue
        try:
            if entry.is_method:
                result = await entry.call(resource, conn, payload)
            else:
                result = await entry.call(conn, payload)
        except Exception as exc:
            conn.reply_type = ""
            if is_counting:
                entry.stats.observe(clock() - now)
            await handler_failed(conn, entry, envelope, exc)
            continue
        conn.reply_type = ""
        if result is None:
            if is_counting:
                entry.stats.observe(clock() - now)
            continue
        data = encode(framer(entry.reply, result, envelope.id))
        if is_binary:
            event = {"type": "websocket.send", "bytes": data}
        else:
            event = {"type": "websocket.send", "text": data.decode()}
        if outbox.write_started or outbox.queue or outbox.is_closed:
            if is_counting:
                entry.stats.observe(clock() - now)
            await outbox.write(event)
            continue
        # PERF: inlines Outbox.write (its documented fields): the reply to a quiet
        # connection is the hot path, and a coroutine call per message is a third of
        # pachinko's overhead. tests/unit/runtime/test_outbox.py runs both paths.
        route_stats.frames_sent += 1
        started = outbox.write_started = clock()
        if is_counting:
            # PERF: inlines TypeStats.observe for the usual time (under BOUNDS[0]), ending
            # at the write's clock reading: no call, no lock (one event loop owns the counts).
            stats, elapsed = entry.stats, started - now
            if elapsed <= fast_bound:
                stats.fast += 1
                stats.seconds += elapsed
            else:
                stats.observe(elapsed)
        try:
            await send(event)
        except Exception:
            outbox.is_closed = True
        finally:
            outbox.write_started = 0.0
        if outbox.queue or outbox.idle is not None:
            outbox.after_write()


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


async def dispatch_hooked(
    conn: Connection,
    resource: object,
    entry: Entry,
    envelope: Envelope,
    payload: object,
    before: tuple[Hook, ...],
    after: tuple[Hook, ...],
) -> None:
    """Dispatch through the receive hooks: before (outer to inner), handler, after (back out)."""
    message = Message(envelope.type, payload, envelope.id)
    extra = log_fields(conn, entry.stats.type)
    try:
        await run_hooks(before, conn, HookEvent("before_receive", message))
    except Reject:
        raise
    except Exception as exc:
        log.exception("before_receive hook failed on %s", conn.id, extra=extra)
        raise Close(1011, "hook failed") from exc
    error: BaseException | None = None
    result: object = None
    try:
        if entry.is_method:
            result = await entry.call(resource, conn, payload)
        else:
            result = await entry.call(conn, payload)
    except Exception as exc:
        error = exc
        await handler_failed(conn, entry, envelope, exc)
    if result is not None:
        outbox = conn.outbox
        await outbox.write(outbox.encode(entry.reply, result, envelope.id))
    try:
        await run_hooks(after, conn, HookEvent("after_receive", message, error=error))
    except Reject:
        raise
    except Exception as exc:
        log.exception("after_receive hook failed on %s", conn.id, extra=extra)
        raise Close(1011, "hook failed") from exc


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
