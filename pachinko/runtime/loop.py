"""The per-message loop (`message_loop`: receive, limit, decode once, dispatch, reply);
every cold branch is a function: hooked dispatch here, the answers in `answers.py`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any

import msgspec

from pachinko.codecs.base import Codec
from pachinko.errors import Reject
from pachinko.runtime.answers import (
    Close,
    Unhandled,
    handler_failed,
    invalid_payload,
    refuse,
    undecodable,
    unknown_type,
)
from pachinko.runtime.connection import Connection, log_fields
from pachinko.runtime.dispatch import DispatchTable, Entry
from pachinko.runtime.frames import Envelope, ServerFrame, ServerReply, decode_flat, flat_frame
from pachinko.runtime.hooks import Hook, HookEvent, Message, run_hooks
from pachinko.runtime.options import SEEN, Activity
from pachinko.runtime.outbox import UNTIMED
from pachinko.runtime.rate import TokenBucket
from pachinko.runtime.shared import Shared
from pachinko.runtime.stats import BOUNDS

log = logging.getLogger("pachinko")

Receive = Callable[[], Awaitable[Any]]


async def message_loop(
    conn: Connection,
    shared: Shared,
    table: DispatchTable,
    resource: object,
    before: tuple[Hook, ...],
    after: tuple[Hook, ...],
    receive: Receive,
    seen: Activity,
) -> int:
    """Serve one connection's messages until the client goes; return its close code.

    Each message marks `seen` (`SEEN`; the watchdog stamps its own clock reading at
    its next look): the connection's own activity, or `DISCARDED` when the server
    keeps it (`pachinko.activity`). Raises `Close` when the server ends the connection.
    """
    limits = shared.limits
    outbox = conn.outbox
    codec: Codec = outbox.codec
    send = outbox.send
    entries = table.entries
    decode_envelope = shared.envelope_decoder(codec)
    is_flat = shared.is_flat
    null = shared.null_payload(codec)
    has_hooks = bool(before or after)
    unhandled: Unhandled | None = getattr(resource, "on_unhandled", None)
    max_bytes = limits.max_message_bytes
    quarter_max = max_bytes // 4
    clock = monotonic
    # NOTE: no bucket at all when the rate is off: an idle connection keeps nothing for it.
    take = None
    if limits.rate_count > 0:
        take = TokenBucket(limits.rate_count, limits.rate_per, limits.burst, clock()).take
    refused = 0
    encode = outbox.encode_bytes
    is_binary = codec.is_binary
    is_counting, fast_bound = shared.stats.is_counting_messages, BOUNDS[0]
    is_timed = take is not None or is_counting  # else no clock reading per message
    now = 0.0
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
        seen.last = SEEN
        # NOTE: a str of n characters is at most 4n bytes: only a long one is encoded to count.
        if len(data) > quarter_max and (
            len(data) > max_bytes or (isinstance(data, str) and len(data.encode()) > max_bytes)
        ):
            raise Close(1009, "frame too large")
        if is_timed:
            now = clock()
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
        message_id = conn.message_id = envelope.id
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
        if is_flat:
            data = encode(flat_frame(entry.reply, result, message_id))
        elif message_id is None:  # PERF: inlines nested_frame: one call less per reply
            data = encode(ServerFrame(entry.reply, result))
        else:
            data = encode(ServerReply(entry.reply, result, message_id))
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
        if is_counting:
            route_stats.frames_sent += 1
            # PERF: inlines TypeStats.observe for the usual time (under BOUNDS[0]), ending
            # at the write's clock reading: no call, no lock (one event loop owns the counts).
            started = outbox.write_started = clock()
            stats, elapsed = entry.stats, started - now
            if elapsed <= fast_bound:
                stats.fast += 1
                stats.seconds += elapsed
            else:
                stats.observe(elapsed)
        else:
            # NOTE: no clock reading: the watchdog times an UNTIMED write from first sight.
            outbox.write_started = UNTIMED
        try:
            await send(event)
        except Exception:
            outbox.is_closed = True
        finally:
            outbox.write_started = 0.0
        if outbox.queue or outbox.idle is not None:
            outbox.after_write()


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
