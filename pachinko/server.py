"""Running an app the way `pachinko serve` does: uvicorn's server loop, pachinko's protocol."""

from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from types import FrameType
from typing import Any

import falcon.asgi
import uvicorn

from pachinko.build import build_plan
from pachinko.loader import Plan
from pachinko.reload import serve_reloading, user_folders
from pachinko.runtime.app import Lifespan, lifespan_of
from pachinko.runtime.options import Limits
from pachinko.serve import (
    PachinkoProtocol,
    Registry,
    ServeSettings,
    connection_cap,
    raise_file_limit,
)

log = logging.getLogger("pachinko")
ready = logging.getLogger("uvicorn.error")  # NOTE: uvicorn's log config shows this one


class ServeConfig(uvicorn.Config):
    """uvicorn's config with pachinko's protocol class and what that protocol enforces."""

    def __init__(self, app: Any, *, settings: ServeSettings, **options: Any) -> None:
        super().__init__(app, http=PachinkoProtocol, ws=PachinkoProtocol, **options)
        self.settings = settings
        self.registry = Registry()


def make_config(
    app: Any, limits: Limits, *, compression: str = "off", **options: Any
) -> ServeConfig:
    """A config whose protocol enforces the manifest's `[limits]` and `[app] compression`."""
    settings = ServeSettings.from_limits(limits, compression)
    options.setdefault("lifespan", "on")
    options.setdefault("h11_max_incomplete_event_size", limits.max_header_bytes)
    # NOTE: a bound on uvicorn's own wait for connections: drain, then closes that abort.
    options.setdefault(
        "timeout_graceful_shutdown", limits.shutdown_timeout + limits.send_timeout + 1.0
    )
    return ServeConfig(app, settings=settings, **options)


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

    @property
    def registry(self) -> Registry:
        return self.config.registry  # type: ignore[attr-defined,no-any-return]

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        lifespan = self._lifespan()
        if lifespan is not None:
            lifespan.workers.on_fatal = self.fail
        before, after = raise_file_limit()
        if after != before:
            ready.info("raised the soft file descriptor limit from %d to %d", before, after)
        self.registry.fd_cap = connection_cap()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        await super().startup(sockets)
        if self.started and not self.should_exit:  # NOTE: never "ready" after a fatal failure
            ready.info("pachinko ready in process [%d]", os.getpid())

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """One line (not a traceback per attempt) when the descriptor limit refuses an accept."""
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            self.registry.warn(
                "emfile",
                "refusing connections: out of file descriptors (%d open here)",
                len(self.registry.open),
            )
            return
        loop.default_exception_handler(context)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop on SIGINT/SIGTERM; a second SIGINT forces it.

        NOTE: unlike uvicorn's, the signal is not re-raised after the graceful
        shutdown, so the process exits 0 rather than -15 (DESIGN.md section 3).
        """
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop delivering frames, let handlers reply, then 1001 to all, then stop listening.

        NOTE: the listener stays open while draining: new WebSockets get 503, and
        plain HTTP (`[app] health` answering 503 "draining") is still served.
        """
        self.registry.drain()
        lifespan = self._lifespan()
        timeout = self.config.settings.shutdown_timeout  # type: ignore[attr-defined]
        if lifespan is not None:
            await lifespan.router.drain(timeout)
        # NOTE: uvicorn then asks each remaining connection to shut down (1001 here).
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
    options = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "compression": plan.manifest.app.compression,
        **(options or {}),
    }
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
