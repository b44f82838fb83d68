"""`RouteEndpoint`: the Falcon resource of one route, from handshake to close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import falcon.asgi

from pachinko.codecs.base import Codec
from pachinko.errors import BackendUnavailable, Reject, RoomFull
from pachinko.runtime.answers import Close, send_error
from pachinko.runtime.connection import Connection, log_fields
from pachinko.runtime.dispatch import DispatchTable, MessageSpec, Subprotocol
from pachinko.runtime.hooks import (
    HookEvent,
    HookMap,
    chain,
    resource_hooks,
    run_hooks,
)
from pachinko.runtime.loop import message_loop
from pachinko.runtime.options import ACTIVITY, WIRE, Activity
from pachinko.runtime.origin import is_origin_allowed
from pachinko.runtime.outbox import Outbox
from pachinko.runtime.shared import Shared
from pachinko.runtime.transport import FalconTransport, Transport
from pachinko.runtime.workers import WorkerSpec

log = logging.getLogger("pachinko")

NO_HOOKS: HookMap = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Variant:
    """How a route serves one of its subprotocols (or none): resource, codec, tables."""

    resource: type | None
    codec: Codec | None  # a subprotocol's own codec; None: negotiated or the default
    tables: dict[str, DispatchTable]  # codec name -> table, computed once


class RouteEndpoint:
    """One WebSocket route, registered in Falcon's router so URI converters work.

    A client's offered subprotocols pick a `Variant` at the handshake: the first
    name (in the client's order) that the route speaks, its own subprotocols or a
    codec's (`pachinko.json`, `pachinko.msgpack`); nothing is decided per message.
    """

    def __init__(
        self,
        shared: Shared,
        path: str,
        *,
        resource: type | None = None,
        messages: tuple[MessageSpec, ...] = (),
        join: tuple[str, ...] = (),
        hooks: HookMap | None = None,
        workers: tuple[WorkerSpec, ...] = (),
        name: str | None = None,
        subprotocols: tuple[Subprotocol, ...] = (),
    ) -> None:
        self.shared = shared
        self.path = path
        self.name = name
        self.resource = resource
        self.join = join
        self.hooks: HookMap = hooks or {}
        # NOTE: shared by every connection without a resource: an idle one keeps no tuple.
        self.plain_layers: tuple[HookMap, ...] = (shared.hooks, self.hooks, NO_HOOKS)
        self.workers = workers
        self.messages = messages
        self.stats = shared.stats.route(path)  # its template gains the mount prefix on mount
        # NOTE: tables per (subprotocol, codec), computed once; the loop only does dict lookups.
        self.default = Variant(resource, None, self._tables(messages, resource, None))
        self.variants: dict[str, Variant] = {}
        for subprotocol in subprotocols:
            self.add_subprotocol(subprotocol)

    @property
    def tables(self) -> dict[str, DispatchTable]:
        """The dispatch tables of clients that chose no application subprotocol."""
        return self.default.tables

    def add_subprotocol(self, subprotocol: Subprotocol) -> None:
        """Speak `subprotocol` too; its messages add to or replace the route's."""
        name = subprotocol.name
        if name in self.variants or name in self.shared.by_subprotocol:
            raise ValueError(f"route {self.path!r} already speaks subprotocol {name!r}")
        codec = None
        if subprotocol.codec is not None:
            codec = self.shared.codecs.get(subprotocol.codec)
            if codec is None:
                known = ", ".join(sorted(self.shared.codecs))
                raise ValueError(f"unknown codec {subprotocol.codec!r} (have {known})")
        own = {spec.type for spec in subprotocol.messages}
        specs = tuple(s for s in self.messages if s.type not in own) + subprotocol.messages
        resource = subprotocol.resource or self.resource
        self.variants[name] = Variant(resource, codec, self._tables(specs, resource, codec))

    def _tables(
        self, specs: tuple[MessageSpec, ...], resource: type | None, codec: Codec | None
    ) -> dict[str, DispatchTable]:
        codecs = (codec,) if codec is not None else self.shared.codecs.values()
        return {c.name: DispatchTable(c, specs, resource, self.stats) for c in codecs}

    def select(self, offered: Iterable[str]) -> tuple[Variant, Codec, str | None]:
        """The variant, codec and subprotocol name for a client's offered subprotocols."""
        shared = self.shared
        for name in offered:
            variant = self.variants.get(name)
            if variant is not None:
                return variant, variant.codec or shared.default_codec, name
            codec = shared.by_subprotocol.get(name)
            if codec is not None:
                return self.default, codec, name
        return self.default, shared.default_codec, None

    async def on_websocket(
        self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket, **params: Any
    ) -> None:
        """Serve through Falcon's `WebSocket` (apps wired with `install`)."""
        await self.serve(FalconTransport(req, ws), params)

    async def serve(self, transport: Transport, params: dict[str, Any] | None) -> None:
        """Run one connection from handshake to close (the connect event is already read)."""
        running = await self.open(transport, params)
        if running is not None:
            await running

    async def open(
        self, transport: Transport, params: dict[str, Any] | None
    ) -> Coroutine[Any, Any, None] | None:
        """Take a connection through the handshake: what serves it once accepted (the
        `message_loop`, not started), or None when it was refused.

        `pachinko.App` awaits the result itself, so this frame is gone by then: an
        idle connection keeps the loop's coroutine and nothing of its handshake.
        """
        if not self._is_origin_allowed(transport):
            await transport.deny()
            return None
        variant, codec, subprotocol = self.select(transport.scope.get("subprotocols") or ())
        conn = self._connection(transport, params, codec, subprotocol)
        resource = variant.resource() if variant.resource is not None else None
        layers = self.plain_layers
        if resource is not None:
            layers = (self.shared.hooks, self.hooks, resource_hooks(resource))
        if not await self._admit(conn, resource, layers, transport, subprotocol):
            return None
        await transport.accept(subprotocol)
        self.stats.opened += 1
        await self.shared.opened(conn)
        return message_loop(self, conn, variant.tables[codec.name], resource, layers, transport)

    def _is_origin_allowed(self, transport: Transport) -> bool:
        origin = transport.header(b"origin")
        if origin is None or is_origin_allowed(
            origin, transport.header(b"host") or "", self.shared.origins
        ):
            return True
        log.info(
            "refused a handshake to %s from origin %.200r (403)",
            self.path,
            origin,
            extra={"route": self.stats.route},
        )
        return False

    def _connection(
        self,
        transport: Transport,
        params: dict[str, Any] | None,
        codec: Codec,
        subprotocol: str | None,
    ) -> Connection:
        shared = self.shared
        extensions = transport.scope.get("extensions") or {}
        connection_id = shared.manager.new_connection_id()
        return Connection(
            connection_id,
            manager=shared.manager,
            outbox=Outbox(
                transport.send,
                codec,
                shared.framer,
                limit=shared.limits.send_queue,
                task=asyncio.current_task(),
                name=connection_id,
                stats=self.stats,
                wire=extensions.get(WIRE),
            ),
            transport=transport,
            params=params,
            activity=extensions.get(ACTIVITY) or Activity(),
            subprotocol=subprotocol,
            stats=self.stats,
        )

    async def _admit(
        self,
        conn: Connection,
        resource: Any,
        layers: tuple[HookMap, ...],
        transport: Transport,
        subprotocol: str | None,
    ) -> bool:
        """Run before_connect and on_connect; a refusal is answered here (False)."""
        try:
            await run_hooks(chain("before_connect", *layers), conn, HookEvent("before_connect"))
            if resource is not None and await resource.on_connect(conn) is False:
                log.info(
                    "on_connect refused connection %s to %s (403)",
                    conn.id,
                    self.path,
                    extra=log_fields(conn),
                )
                await transport.deny()
                return False
        except Reject as rejected:
            if rejected.code is None:
                log.info(
                    "refused connection %s to %s (403): %s",
                    conn.id,
                    self.path,
                    rejected,
                    extra=log_fields(conn),
                )
                await transport.deny()
                return False
            log.info(
                "rejected connection %s with %d: %s",
                conn.id,
                rejected.code,
                rejected,
                extra={**log_fields(conn), "close_code": rejected.code},
            )
            await transport.accept(subprotocol)
            await transport.send(
                {"type": "websocket.close", "code": rejected.code, "reason": rejected.reason}
            )
            return False
        return True

    async def settle_in(self, conn: Connection, layers: tuple[HookMap, ...]) -> None:
        """Join the route's rooms, run after_connect (a crash there closes with 1011), then
        start the route's workers."""
        for pattern in self.join:
            room = pattern.format_map(conn.params)
            try:
                await conn.join(room)
            except RoomFull as full:
                await send_error(conn, "room_full", f"room {full.room!r} is full", None)
            except BackendUnavailable:
                reason = f"could not join {room!r}: backend unavailable"
                await send_error(conn, "backend_unavailable", reason, None)
        try:
            await run_hooks(chain("after_connect", *layers), conn, HookEvent("after_connect"))
        except (Reject, Close):
            raise
        except Exception as exc:
            log.exception("after_connect hook failed on %s", conn.id, extra=log_fields(conn))
            raise Close(1011, "hook failed") from exc
        self.shared.start_workers(conn, self.workers)

    async def finish(
        self, conn: Connection, resource: object, layers: tuple[HookMap, ...], code: int
    ) -> None:
        """After the close: count it, before_disconnect, forget the connection, on_disconnect."""
        outbox = conn.outbox
        outbox.is_closed = True
        by_server = outbox.close_code is not None
        outbox.close_code = outbox.close_code or code
        self.stats.connection_closed(code, by_server)
        try:
            event = HookEvent("before_disconnect", close_code=code)
            await run_hooks(chain("before_disconnect", *layers), conn, event)
        except Exception:
            log.exception("before_disconnect hook failed on %s", conn.id, extra=log_fields(conn))
        await self.shared.closed(conn)
        if resource is not None:
            try:
                await resource.on_disconnect(conn, code)  # type: ignore[attr-defined]
            except Exception:
                log.exception("on_disconnect failed on %s", conn.id, extra=log_fields(conn))
        outbox.stop()
