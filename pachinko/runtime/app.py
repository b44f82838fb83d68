"""`pachinko.App`, `install()` and `connection_manager()`: putting the router into Falcon."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon.asgi
import falcon.routing

from pachinko import shim
from pachinko.errors import PachinkoError
from pachinko.runtime.endpoint import RouteEndpoint
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.router import WebSocketRouter
from pachinko.runtime.transport import AsgiTransport
from pachinko.runtime.workers import WorkerController


class Lifespan:
    """Falcon middleware that starts and stops the manager, workers and extensions."""

    def __init__(
        self,
        router: WebSocketRouter,
        workers: WorkerController | None = None,
        extensions: Iterable[Any] = (),
    ) -> None:
        self.router = router
        self.workers = workers or WorkerController()
        self.extensions = tuple(extensions)

    @property
    def manager(self) -> WebSocketConnectionManager:
        return self.router.manager

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        await self.manager.start()
        for extension in self.extensions:
            startup = getattr(extension, "startup", None)  # NOTE: optional (docs/extensions.md)
            if startup is not None:
                await startup(self.router.app)
        await self.workers.start(self.manager, self.router.app)

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        await self.workers.stop()
        await self.router.drain(self.router.limits.shutdown_timeout)
        await self.router.shared.watchdog.stop()
        for extension in reversed(self.extensions):
            shutdown = getattr(extension, "shutdown", None)
            if shutdown is not None:
                await shutdown(self.router.app)
        await self.manager.stop()


class App(falcon.asgi.App):
    """A `falcon.asgi.App` that serves pachinko routes straight from ASGI.

    WebSocket scopes whose path matches a pachinko route skip Falcon's buffered
    `WebSocket` (unless WebSocket middleware is installed); everything else is
    plain Falcon. `router` is the WebSocketRouter; Falcon's own router may be
    given as `http_router`.
    """

    def __init__(
        self,
        *args: Any,
        router: WebSocketRouter | None = None,
        workers: WorkerController | None = None,
        extensions: Iterable[Any] = (),
        http_router: falcon.routing.CompiledRouter | None = None,
        **kwargs: Any,
    ) -> None:
        # NOTE: Falcon's public `router=` argument, so that paths are found without _router.
        self.http_router = http_router or falcon.routing.CompiledRouter()
        super().__init__(*args, router=self.http_router, **kwargs)
        self.ws_router = router or WebSocketRouter()
        install(self, self.ws_router, workers=workers, extensions=extensions)

    @property
    def ws_connection_manager(self) -> WebSocketConnectionManager:
        return self.ws_router.manager

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # type: ignore[override]
        if scope["type"] == "websocket" and not _has_websocket_middleware(self):
            found = self.http_router.find(scope["path"])
            if found is not None and isinstance(found[0], RouteEndpoint):
                # NOTE: keep only what the connection needs: Falcon's 4-tuple, its method
                # map and an empty params dict would otherwise live as long as it does.
                endpoint, params, found = found[0], found[2] or None, None
                if (await receive())["type"] == "websocket.connect":
                    transport = AsgiTransport(scope, receive, send, self.req_options)
                    # NOTE: `open` then the loop, from here: no frame in between stays
                    # for the connection's life (`RouteEndpoint.serve` would be one).
                    running = await endpoint.open(transport, params)
                    if running is not None:
                        await running
                return
        await super().__call__(scope, receive, send)


def install(
    app: falcon.asgi.App,
    router: WebSocketRouter | None = None,
    *,
    prefix: str = "",
    workers: WorkerController | None = None,
    extensions: Iterable[Any] = (),
) -> WebSocketConnectionManager:
    """Mount `router` on `app` with a lifespan middleware; return the manager. Idempotent.

    Each extension's optional `setup(app, router)` runs here, once; one with
    `connected` / `disconnected` methods is told of every connection (docs/extensions.md).
    """
    existing = _find_lifespan(app)
    if existing is not None:
        return existing.manager
    router = router or WebSocketRouter()
    router.mount(app, prefix)
    lifespan = Lifespan(router, workers, extensions)
    app.add_middleware(lifespan)
    for extension in lifespan.extensions:
        setup = getattr(extension, "setup", None)
        if setup is not None:
            setup(app, router)
        if hasattr(extension, "connected") or hasattr(extension, "disconnected"):
            router.shared.observers.append(extension)
    return lifespan.manager


def connection_manager(app: falcon.asgi.App) -> WebSocketConnectionManager:
    """The connection manager of an app built by `build` or wired by `install`."""
    lifespan = _find_lifespan(app)
    if lifespan is None:
        raise PachinkoError(
            "this app has no pachinko connection manager; call pachinko.install(app)"
        )
    return lifespan.manager


def lifespan_of(app: falcon.asgi.App) -> Lifespan | None:
    """The pachinko lifespan middleware of `app`, if installed."""
    return _find_lifespan(app)


def _find_lifespan(app: falcon.asgi.App) -> Lifespan | None:
    # NOTE: Falcon's App is slotted and not weak-referenceable, so the manager lives
    # in the middleware `install` added.
    for middleware in shim.app_middleware(app):
        if isinstance(middleware, Lifespan):
            return middleware
    return None


def _has_websocket_middleware(app: falcon.asgi.App) -> bool:
    return any(
        hasattr(middleware, "process_request_ws") or hasattr(middleware, "process_resource_ws")
        for middleware in shim.app_middleware(app)
    )
