"""The per-message loop (`message_loop`: receive, limit, decode once, dispatch, reply);
every cold branch is a function: hooked dispatch here, the answers in `answers.py`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from time import monotonic
from typing import Protocol

import msgspec

from pachinko.errors import Reject
from pachinko.runtime.answers import (
    Close,
    Unhandled,
    close_from_server,
    close_quietly,
    handler_failed,
    invalid_payload,
    refuse,
    undecodable,
    unknown_type,
)
from pachinko.runtime.connection import Connection, log_fields
from pachinko.runtime.dispatch import DispatchTable, Entry
from pachinko.runtime.frames import Envelope, ServerFrame, ServerReply, decode_flat, flat_frame
from pachinko.runtime.hooks import (
    HookEvent,
    HookMap,
    Message,
    ReceiveHooks,
    receive_hooks,
)
from pachinko.runtime.options import ACTIVITY, DISCARDED, SEEN, Limits
from pachinko.runtime.outbox import UNTIMED
from pachinko.runtime.rate import TokenBucket
from pachinko.runtime.shared import Shared
from pachinko.runtime.stats import BOUNDS
from pachinko.runtime.transport import Transport

log = logging.getLogger("pachinko")
FAST_BOUND = BOUNDS[0]


class Route(Protocol):
    """What the loop needs of the route it serves (`RouteEndpoint`) at either end."""

    shared: Shared

    async def settle_in(self, conn: Connection, layers: tuple[HookMap, ...]) -> None: ...

    async def finish(
        self, conn: Connection, resource: object, layers: tuple[HookMap, ...], code: int
    ) -> None: ...


async def message_loop(
    route: Route,
    conn: Connection,
    table: DispatchTable,
    resource: object,
    layers: tuple[HookMap, ...],
    transport: Transport,
) -> None:
    """Serve an accepted connection to its end: the route settles it in, then every
    message, then the close (the server's, or the client's code) and the route's finish.

    Each message marks the connection's activity `SEEN` (the watchdog stamps its own
    clock reading at its next look), unless the server keeps it (`pachinko.activity`).
    `Close` or `Reject` from anywhere ends it from the server's side.
    """
    # NOTE: one frame for the connection's whole accepted life (not a loop awaited by a
    # frame that waits to close), and each of its locals costs every idle connection
    # 8 bytes: only what the per-message path reads gets one.
    shared = route.shared
    code = 1006
    try:
        await route.settle_in(conn, layers)
        hooks = receive_hooks(layers)
        outbox = conn.outbox
        send = outbox.send
        receive = transport.receive
        seen = DISCARDED if ACTIVITY in (transport.scope.get("extensions") or ()) else conn.activity
        entries = table.entries
        decode_envelope = shared.envelope_decoder(outbox.codec)
        is_flat = shared.is_flat
        null = shared.null_payload(outbox.codec)
        quarter_max = shared.limits.max_message_bytes // 4
        take = rate_taker(shared.limits)
        refused = 0
        encode = outbox.encode_bytes
        is_binary = outbox.is_binary
        is_counting = shared.stats.is_counting_messages
        is_timed = take is not None or is_counting  # else no clock reading per message
        now = 0.0

        # PERF: `while True` with the check inside: `while not shared.is_draining` made the
        # loop ~0.5 us/msg slower on CPython 3.11 (measured; even with a local flag).
        while True:
            if shared.is_draining:
                raise Close(1001, "server shutdown")
            # NOTE: drop the last message before waiting: an idle connection keeps nothing.
            event = data = envelope = payload = result = None  # type: ignore[assignment]
            event = await receive()
            if event["type"] != "websocket.receive":
                code = int(event.get("code", 1005))
                return
            data = event.get("text")
            if data is None:
                data = event.get("bytes") or b""
            seen.last = SEEN
            # NOTE: a str of n characters is at most 4n bytes: only a long one is encoded to count.
            if len(data) > quarter_max and is_too_large(data, shared.limits.max_message_bytes):
                raise Close(1009, "frame too large")
            if is_timed:
                now = monotonic()
                if take is not None:
                    if not take(now):
                        refused += 1
                        await refuse(conn, refused, shared.limits.burst)
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
                await undecodable(conn, outbox.codec, on_unhandled(resource), data, exc)
                continue

            entry = entries.get(envelope.type) or table.find(envelope.type)
            if entry is None:
                await unknown_type(conn, on_unhandled(resource), data, envelope)
                continue
            try:
                if fields is None:
                    payload = entry.decode(envelope.payload or null)
                else:
                    payload = msgspec.convert(fields, entry.convert_type)
            except Exception as exc:
                entry.stats.refused += 1
                await invalid_payload(conn, outbox.codec, exc, envelope, is_flat)
                continue

            conn.reply_type = entry.reply
            conn.message_id = envelope.id
            if hooks is not None:
                await dispatch_hooked(conn, resource, entry, envelope, payload, hooks)
                conn.reply_type = ""
                if is_counting:
                    entry.stats.observe(monotonic() - now)
                continue
            try:
                if entry.is_method:
                    result = await entry.call(resource, conn, payload)
                else:
                    result = await entry.call(conn, payload)
            except Exception as exc:
                conn.reply_type = ""
                if is_counting:
                    entry.stats.observe(monotonic() - now)
                await handler_failed(conn, entry, envelope, exc)
                continue
            conn.reply_type = ""
            if result is None:
                if is_counting:
                    entry.stats.observe(monotonic() - now)
                continue
            if is_flat:
                data = encode(flat_frame(entry.reply, result, envelope.id))
            elif envelope.id is None:  # PERF: inlines nested_frame: one call less per reply
                data = encode(ServerFrame(entry.reply, result))
            else:
                data = encode(ServerReply(entry.reply, result, envelope.id))
            if is_binary:
                event = {"type": "websocket.send", "bytes": data}
            else:
                event = {"type": "websocket.send", "text": data.decode()}
            if outbox.write_started or outbox.queue or outbox.is_closed:
                if is_counting:
                    entry.stats.observe(monotonic() - now)
                await outbox.write(event)
                continue
            # PERF: inlines Outbox.write (its documented fields): the reply to a quiet
            # connection is the hot path, and a coroutine call per message is a third of
            # pachinko's overhead. tests/unit/runtime/test_outbox.py runs both paths.
            if is_counting:
                conn.stats.frames_sent += 1
                # PERF: inlines TypeStats.observe for the usual time (under BOUNDS[0]), ending
                # at the write's clock reading: no call, no lock (one event loop owns the counts).
                outbox.write_started = monotonic()
                stats, elapsed = entry.stats, outbox.write_started - now
                if elapsed <= FAST_BOUND:
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
    except (Close, Reject) as exc:
        code = await close_from_server(conn, shared, transport.receive, exc)
    except asyncio.CancelledError:
        if conn.close_code is None:  # the server is going away, not a drop
            raise
        code = conn.close_code
        await close_quietly(transport.send, code)
    finally:
        await route.finish(conn, resource, layers, code)


def on_unhandled(resource: object) -> Unhandled | None:
    """The resource's `on_unhandled` (frames no handler takes), if it has one."""
    return getattr(resource, "on_unhandled", None)


def is_too_large(data: str | bytes, max_bytes: int) -> bool:
    """Whether a frame over a quarter of `max_bytes` is over it (a str counts as UTF-8)."""
    return len(data) > max_bytes or (isinstance(data, str) and len(data.encode()) > max_bytes)


def rate_taker(limits: Limits) -> Callable[[float], bool] | None:
    """The token bucket's `take`, or None when the rate is off (an idle connection then
    keeps nothing for it)."""
    if limits.rate_count <= 0:
        return None
    return TokenBucket(limits.rate_count, limits.rate_per, limits.burst, monotonic()).take


async def dispatch_hooked(
    conn: Connection,
    resource: object,
    entry: Entry,
    envelope: Envelope,
    payload: object,
    hooks: ReceiveHooks,
) -> None:
    """Dispatch through the receive hooks: before (outer to inner), handler, after (back out)."""
    before, after = hooks
    message = Message(envelope.type, payload, envelope.id)
    if before:
        event = HookEvent("before_receive", message)
        try:
            for hook in before:  # NOTE: run_hooks inlined: one coroutine less per message
                await hook(conn, event)
        except Reject:
            raise
        except Exception as exc:
            raise hook_failed(conn, entry, "before_receive") from exc
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
    if after:
        event = HookEvent("after_receive", message, error=error)
        try:
            for hook in after:
                await hook(conn, event)
        except Reject:
            raise
        except Exception as exc:
            raise hook_failed(conn, entry, "after_receive") from exc


def hook_failed(conn: Connection, entry: Entry, kind: str) -> Close:
    """Log a receive hook's crash (the traceback being handled); the close it calls for."""
    log.exception("%s hook failed on %s", kind, conn.id, extra=log_fields(conn, entry.stats.type))
    return Close(1011, "hook failed")
