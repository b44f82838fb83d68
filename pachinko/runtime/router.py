"""`WebSocketRouter`: the routes of an app and the settings their connections share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import falcon.asgi

from pachinko.codecs.base import Codec
from pachinko.codecs.builtin import JsonCodec, MsgpackCodec
from pachinko.runtime.dispatch import MessageSpec, Subprotocol
from pachinko.runtime.endpoint import RouteEndpoint
from pachinko.runtime.hooks import HookMap
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Limits
from pachinko.runtime.shared import Shared
from pachinko.runtime.stats import Stats
from pachinko.runtime.workers import WorkerSpec


class WebSocketRouter:
    """Routes WebSocket paths to message tables; mount it on a Falcon app with `mount`.

    Path matching is Falcon's own (URI templates with converters): `mount` adds
    each route's endpoint to the app's router. What the routes' connections
    share (codecs, limits, hooks, manager, watchdog) is `shared`.
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
        self.shared = Shared(
            manager if manager is not None else WebSocketConnectionManager(),
            list(codecs) if codecs is not None else [JsonCodec(), MsgpackCodec()],
            default_codec,
            envelope,
            limits or Limits(),
            tuple(allowed_origins),
            hooks or {},
        )
        self.routes: list[RouteEndpoint] = []
        self.app: Any = None
        self.prefix = ""

    @property
    def manager(self) -> WebSocketConnectionManager:
        return self.shared.manager

    @property
    def limits(self) -> Limits:
        return self.shared.limits

    @property
    def codecs(self) -> dict[str, Codec]:
        return self.shared.codecs

    @property
    def stats(self) -> Stats:
        """What this router's connections count (docs/extensions.md)."""
        return self.shared.stats

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
        subprotocols: Iterable[Subprotocol] = (),
    ) -> RouteEndpoint:
        """Add a route; `messages` is MessageSpecs or a `{type: handler}` mapping.

        Adding a `resource` whose class names `subprotocols` to a path that already
        has a route adds those subprotocols to it (served by that resource).
        """
        if isinstance(messages, Mapping):
            specs = tuple(MessageSpec(type_, handler) for type_, handler in messages.items())
        else:
            specs = tuple(messages)
        existing = next((route for route in self.routes if route.path == path), None)
        if existing is not None:
            names = getattr(resource, "subprotocols", ())
            if not names:
                raise ValueError(f"duplicate route path {path!r}")
            for subprotocol_name in names:
                existing.add_subprotocol(Subprotocol(subprotocol_name, None, resource, specs))
            return existing
        own = tuple(
            Subprotocol(n, None, resource, specs) for n in getattr(resource, "subprotocols", ())
        )
        endpoint = RouteEndpoint(
            self.shared,
            path,
            resource=resource,
            messages=specs,
            join=tuple(join),
            hooks=hooks,
            workers=tuple(workers),
            name=name,
            subprotocols=own + tuple(subprotocols),
        )
        self.routes.append(endpoint)
        if self.app is not None:
            endpoint.stats.route = self.prefix + path
            self.app.add_route(self.prefix + path, endpoint)
        return endpoint

    def mount(self, app: falcon.asgi.App, prefix: str = "") -> None:
        """Register every route (now and later) in `app`'s router under `prefix`."""
        self.app = self.shared.app = app
        self.prefix = prefix
        for endpoint in self.routes:
            endpoint.stats.route = prefix + endpoint.path
            app.add_route(prefix + endpoint.path, endpoint)

    def url_for(self, name: str, **params: object) -> str:
        """The path of the route called `name`, its `{placeholders}` filled from `params`."""
        for endpoint in self.routes:
            if endpoint.name == name:
                template = self.prefix + endpoint.path
                return _fill(template, params)
        raise LookupError(f"no route named {name!r}")

    # -- shutdown ------------------------------------------------------------------------

    async def close_all(self, code: int = 1001) -> None:
        """Close every local connection (server shutdown)."""
        await self.shared.close_all(code)

    async def drain(self, timeout: float) -> None:
        """Stop reading new frames, let running handlers reply within `timeout`, then 1001."""
        await self.shared.drain(timeout)


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
