"""`WebSocketRouter`: the routes of an app and the settings their connections share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import Any

import falcon.asgi

from pachinko.codecs.base import Codec, Decode
from pachinko.codecs.builtin import JsonCodec, MsgpackCodec
from pachinko.runtime.connection import Connection
from pachinko.runtime.dispatch import MessageSpec
from pachinko.runtime.endpoint import RouteEndpoint
from pachinko.runtime.frames import FRAMERS, Envelope
from pachinko.runtime.hooks import HookMap
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Limits
from pachinko.runtime.watchdog import Watchdog
from pachinko.runtime.workers import WorkerSpec, start_connection_workers


class WebSocketRouter:
    """Routes WebSocket paths to message tables; mount it on a Falcon app with `mount`.

    Path matching is Falcon's own (URI templates with converters): `mount` adds
    each route's endpoint to the app's router.
    """

    def __init__(
        self,
        manager: WebSocketConnectionManager | None = None,
        *,
        codecs: Iterable[Codec] | None = None,
        default_codec: str = "json",
        envelope: str = "nested",
        limits: Limits | None = None,
        allowed_origins: Iterable[str] = ("same-origin",),
        hooks: HookMap | None = None,
    ) -> None:
        if envelope not in ("nested", "flat"):
            raise ValueError(f"envelope must be 'nested' or 'flat', not {envelope!r}")
        self.manager = manager if manager is not None else WebSocketConnectionManager()
        found = list(codecs) if codecs is not None else [JsonCodec(), MsgpackCodec()]
        self.codecs: dict[str, Codec] = {codec.name: codec for codec in found}
        if default_codec not in self.codecs:
            raise ValueError(f"unknown default codec {default_codec!r}; have {sorted(self.codecs)}")
        self.default_codec = self.codecs[default_codec]
        self._by_subprotocol = {codec.subprotocol: codec for codec in found}
        self.envelope = envelope
        self.limits = limits or Limits()
        self.manager.configure(self.codecs, FRAMERS[envelope], self.limits.max_history_bytes)
        self.origins = tuple(allowed_origins)
        self.hooks: HookMap = hooks or {}
        self.routes: list[RouteEndpoint] = []
        self.app: Any = None
        self._decoders: dict[str, Decode] = {}
        self._nulls = {name: codec.encode(None) for name, codec in self.codecs.items()}
        self._workers: dict[str, list[asyncio.Task[None]]] = {}
        self.watchdog = Watchdog(self)

    # -- routes ---------------------------------------------------------------------

    def add_route(
        self,
        path: str,
        resource: type | None = None,
        *,
        messages: Iterable[MessageSpec] | Mapping[str, Callable[..., Any]] = (),
        join: Iterable[str] = (),
        hooks: HookMap | None = None,
        workers: Iterable[WorkerSpec] = (),
        name: str | None = None,
    ) -> RouteEndpoint:
        """Add a route; `messages` is MessageSpecs or a `{type: handler}` mapping."""
        if isinstance(messages, Mapping):
            specs = tuple(MessageSpec(type_, handler) for type_, handler in messages.items())
        else:
            specs = tuple(messages)
        endpoint = RouteEndpoint(
            self,
            path,
            resource=resource,
            messages=specs,
            join=tuple(join),
            hooks=hooks,
            workers=tuple(workers),
            name=name,
        )
        self.routes.append(endpoint)
        if self.app is not None:
            self.app.add_route(self._prefix + path, endpoint)
        return endpoint

    def mount(self, app: falcon.asgi.App, prefix: str = "") -> None:
        """Register every route (now and later) in `app`'s router under `prefix`."""
        self.app = app
        self._prefix = prefix
        for endpoint in self.routes:
            app.add_route(prefix + endpoint.path, endpoint)

    def url_for(self, name: str, **params: object) -> str:
        """The path of the route called `name`, its `{placeholders}` filled from `params`."""
        for endpoint in self.routes:
            if endpoint.name == name:
                template = getattr(self, "_prefix", "") + endpoint.path
                return _fill(template, params)
        raise LookupError(f"no route named {name!r}")

    # -- what connections share --------------------------------------------------------

    def negotiate(self, offered: Iterable[str]) -> tuple[Codec, str | None]:
        """The codec for a client's subprotocols (its first known one), else the default."""
        for subprotocol in offered:
            codec = self._by_subprotocol.get(subprotocol)
            if codec is not None:
                return codec, subprotocol
        return self.default_codec, None

    def envelope_decoder(self, codec: Codec) -> Decode:
        decoder = self._decoders.get(codec.name)
        if decoder is None:
            target = Envelope if self.envelope == "nested" else object
            decoder = self._decoders[codec.name] = codec.decoder(target)
        return decoder

    def null_payload(self, codec: Codec) -> bytes:
        return self._nulls[codec.name]

    async def connection_opened(self, conn: Connection) -> None:
        await self.manager.start()
        conn.last_seen = monotonic()
        self.manager.register(conn)
        self.watchdog.ensure_running()

    async def connection_closed(self, conn: Connection) -> None:
        tasks = self._workers.pop(conn.id, ())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.manager.unregister(conn)

    def start_workers(self, conn: Connection, specs: tuple[WorkerSpec, ...]) -> None:
        if specs:
            self._workers[conn.id] = start_connection_workers(
                specs, conn, self.app, lambda: conn.drop(1011)
            )

    async def close_all(self, code: int = 1001) -> None:
        """Close every local connection (server shutdown)."""
        async for conn in self.manager.connections():
            await conn.close(code, "server shutdown")


def _fill(template: str, params: Mapping[str, object]) -> str:
    out, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        field, _, rest = tail.partition("}")
        key = field.partition(":")[0]
        if key not in params:
            raise KeyError(f"url_for needs {key!r}")
        out.extend((head, str(params[key])))
    out.append(rest)
    return "".join(out)
