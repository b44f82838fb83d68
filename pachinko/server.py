"""Running an app under uvicorn, the way `pachinko serve` does."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import falcon.asgi
import uvicorn
from uvicorn.supervisors import ChangeReload, Multiprocess

from pachinko.build import build_plan, runtime_limits
from pachinko.loader.plan import Plan
from pachinko.runtime.app import Lifespan, lifespan_of
from pachinko.runtime.options import Limits

# NOTE: uvicorn's default sans-io protocol fails Autobahn case 7.1.5 (frames after a
# close); its "websockets" one is deprecated. wsproto is conformant and supported.
WS_PROTOCOL = "wsproto"

log = logging.getLogger("pachinko")


def make_config(app: Any, limits: Limits, **options: Any) -> uvicorn.Config:
    """A uvicorn config that enforces the manifest's frame size and ping interval."""
    return uvicorn.Config(
        app,
        ws=WS_PROTOCOL,
        ws_max_size=limits.max_message_bytes,
        ws_ping_interval=limits.ping_interval or None,
        ws_ping_timeout=limits.ping_interval or None,
        lifespan="on",
        **options,
    )


class Server(uvicorn.Server):
    """uvicorn's server, closing pachinko connections with 1001 before it shuts down.

    A worker that fails for good stops the server with exit code 1.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_code = 0

    def fail(self, name: str, error: BaseException | None) -> None:
        log.critical("worker %r failed for good; stopping the server", name, exc_info=error)
        self.exit_code = 1
        self.should_exit = True

    def _lifespan(self) -> Lifespan | None:
        app = self.config.loaded_app if self.config.loaded else None
        # NOTE: uvicorn wraps the app in middleware that keeps it as `.app`.
        for _ in range(8):
            if app is None or isinstance(app, falcon.asgi.App):
                break
            app = getattr(app, "app", None)
        return lifespan_of(app) if isinstance(app, falcon.asgi.App) else None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        lifespan = self._lifespan()
        if lifespan is not None:
            lifespan.workers.on_fatal = self.fail
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        lifespan = self._lifespan()
        if lifespan is not None:
            # NOTE: before uvicorn fails every WebSocket with its own 1012.
            await lifespan.router.close_all(1001)
        await super().shutdown(sockets)


def run(
    plan: Plan,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: int = 1,
    log_level: str = "info",
) -> int:
    """Serve a checked plan until stopped; return the process exit code."""
    limits = runtime_limits(plan)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level}
    if workers <= 1 and not reload:
        server = Server(make_config(build_plan(plan), limits, **options))
        server.run()
        return server.exit_code
    # NOTE: many processes (or reloads) import the app: each builds it from the manifest.
    os.environ["PACHINKO_MANIFEST"] = str(plan.path.resolve())
    config = make_config("pachinko.asgi:app", limits, workers=workers, reload=reload, **options)
    sock = config.bind_socket()
    server = Server(config)
    if reload:
        ChangeReload(config, target=server.run, sockets=[sock]).run()
    else:
        Multiprocess(config, target=server.run, sockets=[sock]).run()
    return server.exit_code
