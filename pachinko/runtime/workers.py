"""Background workers: app-wide ones under the lifespan, per-connection ones beside a connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("pachinko.workers")

MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """A worker: `async def target(ctx, **args)`, run once (long-running) or `every` seconds."""

    name: str
    target: Callable[..., Any]
    every: float | None = None
    args: dict[str, object] = field(default_factory=dict)
    restart: str = "never"  # "never" | "on-failure" | "always"
    max_restarts: int = 5
    backoff: float = 1.0


@dataclass(slots=True)
class WorkerContext:
    """What a worker receives: `ctx.manager`, `ctx.app`, `ctx.name`, `ctx.log`, `ctx.conn`."""

    manager: Any
    app: Any
    name: str
    log: logging.Logger
    conn: Any = None


async def run_once(spec: WorkerSpec, ctx: WorkerContext) -> None:
    """Run a worker to completion: one call, or fixed-rate ticks that never overlap."""
    if spec.every is None:
        await spec.target(ctx, **spec.args)
        return
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while True:
        await spec.target(ctx, **spec.args)
        # NOTE: fixed rate; an overrun skips the ticks it missed instead of bunching them.
        elapsed = loop.time() - start
        tick = max(tick + 1, int(elapsed / spec.every) + (elapsed % spec.every > 0))
        await asyncio.sleep(max(0.0, start + tick * spec.every - loop.time()))


class WorkerController:
    """Starts app-wide workers at lifespan startup and stops them at shutdown.

    A worker that crashes (or, with `restart = "always"`, returns) restarts after
    `backoff`, doubled each time up to 60 s, until `max_restarts` is spent; then,
    as with `restart = "never"`, `on_fatal` is called to stop the server.
    """

    def __init__(
        self,
        workers: tuple[WorkerSpec, ...] = (),
        on_fatal: Callable[[str, BaseException | None], None] | None = None,
    ) -> None:
        self.workers = workers
        self.on_fatal = on_fatal or _log_fatal
        self.failed: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, manager: Any, app: Any) -> None:
        loop = asyncio.get_running_loop()
        for spec in self.workers:
            ctx = WorkerContext(manager, app, spec.name, log.getChild(spec.name))
            self._tasks.append(loop.create_task(self._supervise(spec, ctx), name=spec.name))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, spec: WorkerSpec, ctx: WorkerContext) -> None:
        restarts = 0
        delay = spec.backoff
        while True:
            error: BaseException | None = None
            try:
                await run_once(spec, ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
                ctx.log.exception("worker %r crashed", spec.name)
            wants_restart = spec.restart == "always" or (spec.restart == "on-failure" and error)
            if not wants_restart:
                if error is not None:
                    self._fail(spec.name, error)
                return
            if restarts >= spec.max_restarts:
                self._fail(spec.name, error)
                return
            restarts += 1
            ctx.log.warning(
                "restarting worker %r in %.3gs (%d/%d)",
                spec.name,
                delay,
                restarts,
                spec.max_restarts,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _fail(self, name: str, error: BaseException | None) -> None:
        self.failed = name
        self.on_fatal(name, error)


def _log_fatal(name: str, error: BaseException | None) -> None:
    # NOTE: the crash was logged with its traceback already; print it only once.
    log.critical("worker %r stopped for good; the server should stop", name)


def start_connection_workers(
    specs: tuple[WorkerSpec, ...], conn: Any, app: Any, on_crash: Callable[[], None]
) -> list[asyncio.Task[None]]:
    """Start per-connection workers; a crash calls `on_crash` (the connection closes 1011)."""
    loop = asyncio.get_running_loop()
    tasks = []
    for spec in specs:
        ctx = WorkerContext(conn.manager, app, spec.name, log.getChild(spec.name), conn)

        async def guarded(spec: WorkerSpec = spec, ctx: WorkerContext = ctx) -> None:
            try:
                await run_once(spec, ctx)
            except asyncio.CancelledError:
                raise
            except Exception:
                ctx.log.exception("connection worker %r crashed on %s", spec.name, conn.id)
                on_crash()

        tasks.append(loop.create_task(guarded(), name=f"{spec.name}:{conn.id}"))
    return tasks
