"""Running an app under uvicorn, the way `pachinko serve` does."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from time import monotonic
from typing import Any

import falcon.asgi
import uvicorn
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol as WsprotoProtocol

from pachinko.build import build_plan
from pachinko.loader import Plan
from pachinko.reload import serve_reloading, user_folders
from pachinko.runtime.app import Lifespan, lifespan_of
from pachinko.runtime.options import ACTIVITY, Activity, Limits


class WSProtocol(WsprotoProtocol):
    """uvicorn's wsproto protocol, telling the app about every frame, pongs included.

    NOTE: uvicorn's default sans-io protocol fails Autobahn case 7.1.5 (frames after
    a close) and its "websockets" one is deprecated; wsproto is conformant. ASGI has
    no pong event, so the time of the last bytes received is shared through the
    scope's `extensions` (`pachinko.activity`) for `idle_timeout`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.activity = Activity()

    def data_received(self, data: bytes) -> None:
        self.activity.last = monotonic()
        super().data_received(data)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        self.scope["extensions"][ACTIVITY] = self.activity  # type: ignore[index]


log = logging.getLogger("pachinko")
ready = logging.getLogger("uvicorn.error")  # NOTE: uvicorn's log config shows this one


def make_config(app: Any, limits: Limits, **options: Any) -> uvicorn.Config:
    """A uvicorn config that enforces the manifest's frame size and ping interval."""
    return uvicorn.Config(
        app,
        ws=WSProtocol,
        ws_max_size=limits.max_message_bytes,
        ws_ping_interval=limits.ping_interval or None,
        # NOTE: a lenient pong deadline; `idle_timeout` decides when silence is too long.
        ws_ping_timeout=max(limits.ping_interval, 20.0) if limits.ping_interval else None,
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
        # NOTE: the crash itself was logged with its traceback; print that only once.
        log.critical("worker %r failed for good; stopping the server", name)
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
        if self.started and not self.should_exit:  # NOTE: never "ready" after a fatal failure
            ready.info("pachinko ready in process [%d]", os.getpid())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        lifespan = self._lifespan()
        if lifespan is not None:
            # NOTE: before uvicorn fails every WebSocket with its own 1012, and while
            # it still listens: `[app] health` answers 503 "draining" meanwhile.
            await lifespan.router.drain(lifespan.router.limits.shutdown_timeout)
        await super().shutdown(sockets)


def run(
    plan: Plan,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: int = 1,
    log_level: str = "info",
    options: dict[str, Any] | None = None,
) -> int:
    """Serve a checked plan until stopped; return the process exit code.

    `options` are more keyword arguments of `uvicorn.Config` (proxy headers, root
    path, TLS files, log configuration).
    """
    limits = plan.limits
    options = {"host": host, "port": port, "log_level": log_level, **(options or {})}
    if workers <= 1 and not reload:
        server = Server(make_config(build_plan(plan), limits, **options))
        server.run()
        return server.exit_code
    # NOTE: other processes import the app: each builds it from the manifest.
    os.environ["PACHINKO_MANIFEST"] = str(plan.path.resolve())
    config = make_config("pachinko.asgi:app", limits, **options)
    # NOTE: a directory this run's processes share (extensions: prometheus' files).
    with tempfile.TemporaryDirectory(prefix="pachinko-") as run_dir:
        os.environ[RUN_DIR] = run_dir
        if reload:
            config.configure_logging()
            return serve_reloading(config, plan.path, user_folders(plan.path), _work)
        return supervise(config, workers)


RUN_DIR = "PACHINKO_RUN_DIR"


def supervise(config: uvicorn.Config, workers: int) -> int:
    """Run `workers` processes of pachinko's `Server` on one socket until a signal or a failure.

    uvicorn's own supervisor runs plain `uvicorn.Server`s, which would close
    WebSockets with 1012 on shutdown; these close them with 1001. A worker that
    exits with an error (a background worker failed for good) stops them all.
    """
    sock = config.bind_socket()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_work, args=(config, sock)) for _ in range(workers)]
    for process in processes:
        process.start()
    stopping = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in STOP_SIGNALS}
    try:
        while not stopping.wait(0.2):
            codes = [process.exitcode for process in processes]
            if any(code not in (None, 0) for code in codes) or None not in codes:
                break
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker closes its connections with 1001
        for process in processes:
            process.join()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        sock.close()
    failed = [p.exitcode for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    return 1 if failed else 0


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _work(config: uvicorn.Config, sock: socket.socket) -> None:
    """The body of one worker process."""
    config.configure_logging()
    server = Server(config)
    server.run(sockets=[sock])
    sys.exit(server.exit_code)
