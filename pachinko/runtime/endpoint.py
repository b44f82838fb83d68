"""`RouteEndpoint`: the Falcon resource of one route, and the per-message loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from time import monotonic
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import falcon.asgi
import msgspec

from pachinko.codecs.base import Codec
from pachinko.errors import BackendUnavailable, Reject, RoomFull
from pachinko.runtime.connection import Connection, Receive, Send
from pachinko.runtime.dispatch import DispatchTable, Entry, MessageSpec
from pachinko.runtime.frames import (
    FRAMERS,
    decode_flat,
    envelope_reason,
    error_payload,
    payload_reason,
)
from pachinko.runtime.hooks import HookEvent, HookMap, Message, chain, resource_hooks, run_hooks
from pachinko.runtime.origin import is_origin_allowed
from pachinko.runtime.transport import AsgiTransport, FalconTransport

if TYPE_CHECKING:
    from pachinko.runtime.router import WebSocketRouter

log = logging.getLogger("pachinko")

NO_HOOKS: HookMap = MappingProxyType({})


class _Stop(Exception):
    """Leave the message loop and close with `code`."""

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason


class RouteEndpoint:
    """One WebSocket route, registered in Falcon's router so URI converters work."""

    def __init__(
        self,
        router: WebSocketRouter,
        path: str,
        *,
        resource: type | None = None,
        messages: tuple[MessageSpec, ...] = (),
        join: tuple[str, ...] = (),
        hooks: HookMap | None = None,
        workers: tuple[Any, ...] = (),
        name: str | None = None,
    ) -> None:
        self.router = router
        self.path = path
        self.name = name
        self.resource = resource
        self.join = join
        self.hooks: HookMap = hooks or {}
        self.workers = workers
        self.messages = messages
        # NOTE: tables per codec, computed once; the hot loop only does dict lookups.
        self.tables = {
            name: DispatchTable(codec, messages, resource) for name, codec in router.codecs.items()
        }

    # -- one connection --------------------------------------------------------------

    async def on_websocket(
        self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket, **params: Any
    ) -> None:
        """Serve through Falcon's `WebSocket` (apps wired with `install`)."""
        await self.serve(FalconTransport(req, ws), params)

    async def serve(
        self, transport: AsgiTransport | FalconTransport, params: dict[str, Any]
    ) -> None:
        """Run one connection from handshake to close (the connect event is already read)."""
        router = self.router
        origin = transport.header(b"origin")
        if origin is not None and not is_origin_allowed(
            origin, transport.header(b"host") or "", router.origins
        ):
            await transport.deny()
            return
        codec, subprotocol = router.negotiate(transport.scope.get("subprotocols") or ())
        receive, send = transport.receive, transport.send
        conn = Connection(
            router.manager.new_connection_id(),
            manager=router.manager,
            codec=codec,
            framer=FRAMERS[router.envelope],
            send=send,
            receive=receive,
            transport=transport,
            params=params,
            send_queue=router.limits.send_queue,
            task=asyncio.current_task(),
        )
        resource = self.resource() if self.resource is not None else None
        layers = (router.hooks, self.hooks, resource_hooks(resource) if resource else NO_HOOKS)
        try:
            await run_hooks(chain("before_connect", *layers), conn, HookEvent("before_connect"))
            if resource is not None and await resource.on_connect(conn) is False:
                await transport.deny()
                return
        except Reject as rejected:
            if rejected.code is None:
                await transport.deny()
                return
            await transport.accept(subprotocol)
            await send(
                {"type": "websocket.close", "code": rejected.code, "reason": rejected.reason}
            )
            return

        await transport.accept(subprotocol)
        await router.connection_opened(conn)
        code = 1006
        try:
            for pattern in self.join:
                room = pattern.format_map(conn.params)
                try:
                    await conn.join(room)
                except RoomFull as full:
                    await self._send_error(conn, "room_full", f"room {full.room!r} is full", None)
                except BackendUnavailable:
                    reason = f"could not join {room!r}: backend unavailable"
                    await self._send_error(conn, "backend_unavailable", reason, None)
            await run_hooks(chain("after_connect", *layers), conn, HookEvent("after_connect"))
            router.start_workers(conn, self.workers)
            code = await self._loop(conn, resource, layers, receive)
        except _Stop as stop:
            await conn.close(stop.code, stop.reason)
            code = await _wait_disconnect(receive, stop.code)
        except Reject as rejected:
            await conn.close(rejected.code or 1008, rejected.reason)
            code = await _wait_disconnect(receive, rejected.code or 1008)
        except asyncio.CancelledError:
            if conn.close_code is None:  # the server is going away, not a drop
                raise
            code = conn.close_code
            await _close_quietly(send, code)
        finally:
            await self._finish(conn, resource, layers, code)

    async def _finish(
        self, conn: Connection, resource: object, layers: tuple[HookMap, ...], code: int
    ) -> None:
        conn.is_closed = True
        conn.close_code = conn.close_code or code
        try:
            event = HookEvent("before_disconnect", close_code=code)
            await run_hooks(chain("before_disconnect", *layers), conn, event)
        except Exception:
            log.exception("before_disconnect hook failed on %s", conn.id)
        await self.router.connection_closed(conn)
        if resource is not None:
            try:
                await resource.on_disconnect(conn, code)  # type: ignore[attr-defined]
            except Exception:
                log.exception("on_disconnect failed on %s", conn.id)
        conn.stop_writer()

    async def _loop(
        self,
        conn: Connection,
        resource: object,
        layers: tuple[HookMap, ...],
        receive: Receive,
    ) -> int:
        """Receive, limit, decode once, dispatch, reply: the per-message hot loop."""
        router = self.router
        limits = router.limits
        codec: Codec = conn.codec
        send = conn._send
        table = self.tables[codec.name]
        entries = table.entries
        decode_envelope = router.envelope_decoder(codec)
        is_flat = router.envelope == "flat"
        null = router.null_payload(codec)
        before = chain("before_receive", *layers)
        after = chain("after_receive", *layers)
        has_hooks = bool(before or after)
        unhandled = getattr(resource, "on_unhandled", None)
        max_bytes = limits.max_message_bytes
        rate_on = limits.rate_count > 0
        refill = limits.rate_count / limits.rate_per
        capacity = float(limits.burst)
        tokens = capacity
        refused = 0
        clock = monotonic
        last = clock()
        send_error = self._send_error
        encode = codec.encode
        framer = FRAMERS[router.envelope]
        is_binary = codec.is_binary

        while True:
            # NOTE: drop the last message before waiting: an idle connection keeps nothing.
            event = data = envelope = payload = result = None  # type: ignore[assignment]
            event = await receive()
            if event["type"] != "websocket.receive":
                return int(event.get("code", 1005))
            data = event.get("text")
            if data is None:
                data = event.get("bytes") or b""
            now = clock()
            conn.last_seen = now
            if len(data) > max_bytes or (
                isinstance(data, str)
                and len(data) * 4 > max_bytes
                and len(data.encode()) > max_bytes
            ):
                raise _Stop(1009, "frame too large")
            if rate_on:
                tokens = min(capacity, tokens + (now - last) * refill)
                last = now
                if tokens < 1.0:
                    refused += 1
                    if refused >= limits.burst:
                        raise _Stop(1008, "rate limit exceeded")
                    await send_error(conn, "rate_limited", "too many messages", None)
                    continue
                tokens -= 1.0
                refused = 0

            # -- decode the envelope once --
            try:
                if is_flat:
                    envelope, fields = decode_flat(decode_envelope, data)
                else:
                    envelope = decode_envelope(data)
                    fields = None
            except msgspec.ValidationError as exc:
                if unhandled is not None:
                    await unhandled(conn, data)
                else:
                    await send_error(conn, "invalid_envelope", envelope_reason(exc), None)
                continue
            except (msgspec.DecodeError, TypeError, UnicodeDecodeError):
                if unhandled is not None:
                    await unhandled(conn, data)
                else:
                    await send_error(conn, "invalid_json", f"frame is not valid {codec.name}", None)
                continue

            entry = entries.get(envelope.type) or table.find(envelope.type)
            if entry is None:
                if unhandled is not None:
                    await unhandled(conn, data)
                else:
                    reason = f"no handler for message type {envelope.type!r}"
                    await send_error(conn, "unknown_type", reason, envelope.id)
                continue
            try:
                if fields is None:
                    payload = entry.decode(envelope.payload or null)
                else:
                    payload = msgspec.convert(fields, entry.convert_type)
            except msgspec.ValidationError as exc:
                reason = payload_reason(str(exc), is_flat)
                await send_error(conn, "invalid_payload", reason, envelope.id)
                continue

            conn._reply_type = entry.reply
            conn._reply_id = envelope.id
            if has_hooks:
                await self._dispatch_hooked(conn, resource, entry, envelope, payload, before, after)
                continue
            try:
                if entry.is_method:
                    result = await entry.call(resource, conn, payload)
                else:
                    result = await entry.call(conn, payload)
            except Exception as exc:
                await self._handler_failed(conn, entry, envelope, exc)
                continue
            if result is None:
                continue
            data = encode(framer(entry.reply, result, envelope.id))
            if is_binary:
                event = {"type": "websocket.send", "bytes": data}
            else:
                event = {"type": "websocket.send", "text": data.decode()}
            if conn.write_started or conn._outbox or conn.is_closed:
                await conn.send_event(event)
                continue
            # NOTE: Connection.send_event inlined: the reply to a quiet connection is the
            # hot path, and a coroutine call per message is a third of pachinko's overhead.
            conn.write_started = now
            try:
                await send(event)
            except Exception:
                conn.is_closed = True
            finally:
                conn.write_started = 0.0
            if conn._outbox or conn._idle is not None:
                conn.after_write()

    async def _dispatch_hooked(
        self,
        conn: Connection,
        resource: object,
        entry: Entry,
        envelope: Any,
        payload: object,
        before: tuple[Any, ...],
        after: tuple[Any, ...],
    ) -> None:
        message = Message(envelope.type, payload, envelope.id)
        try:
            await run_hooks(before, conn, HookEvent("before_receive", message))
        except Reject:
            raise
        except Exception as exc:
            log.exception("before_receive hook failed on %s", conn.id)
            raise _Stop(1011, "hook failed") from exc
        error: BaseException | None = None
        result: object = None
        try:
            if entry.is_method:
                result = await entry.call(resource, conn, payload)
            else:
                result = await entry.call(conn, payload)
        except Exception as exc:
            error = exc
            await self._handler_failed(conn, entry, envelope, exc)
        if result is not None:
            await conn.send_event(conn.encode_event(entry.reply, result, envelope.id))
        try:
            await run_hooks(after, conn, HookEvent("after_receive", message, error=error))
        except Reject:
            raise
        except Exception as exc:
            log.exception("after_receive hook failed on %s", conn.id)
            raise _Stop(1011, "hook failed") from exc

    async def _handler_failed(
        self, conn: Connection, entry: Entry, envelope: Any, exc: Exception
    ) -> None:
        if isinstance(exc, Reject):
            raise exc
        if isinstance(exc, RoomFull):
            await self._send_error(conn, "room_full", f"room {exc.room!r} is full", envelope.id)
            return
        if isinstance(exc, BackendUnavailable):
            log.warning("backend unavailable for %r on connection %s", envelope.type, conn.id)
            reason = "the backend could not be reached in time"
            await self._send_error(conn, "backend_unavailable", reason, envelope.id)
            return
        log.error(
            "handler %s for %r failed on connection %s",
            getattr(entry.call, "__qualname__", entry.call),
            envelope.type,
            conn.id,
            exc_info=exc,
        )
        await self._send_error(conn, "internal_error", "internal error", envelope.id)

    @staticmethod
    async def _send_error(conn: Connection, code: str, message: str, id_: str | int | None) -> None:
        await conn.send_event(conn.encode_event("error", error_payload(code, message), id_))


async def _wait_disconnect(receive: Receive, code: int) -> int:
    """After a server-side close, wait (briefly) for the server's disconnect event."""

    async def drain() -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass

    with contextlib.suppress(Exception):
        await asyncio.wait_for(drain(), 5.0)
    return code


async def _close_quietly(send: Send, code: int) -> None:
    """Send a close frame unless the socket is stuck or gone."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(send({"type": "websocket.close", "code": code}), 1.0)
