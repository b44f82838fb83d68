"""App-wide workers: a final crash is logged once, with its traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pachinko.runtime.workers import WorkerController, WorkerSpec


async def test_a_final_crash_prints_its_traceback_once(caplog: pytest.LogCaptureFixture) -> None:
    stopped = asyncio.Event()

    async def crash(ctx: object) -> None:
        raise RuntimeError("the worker broke")

    controller = WorkerController((WorkerSpec("crash", crash),))
    default_fatal = controller.on_fatal

    def fatal(name: str, error: BaseException | None) -> None:
        default_fatal(name, error)
        stopped.set()

    controller.on_fatal = fatal
    with caplog.at_level(logging.INFO, logger="pachinko"):
        await controller.start(manager=None, app=None)
        await asyncio.wait_for(stopped.wait(), 5)
        await controller.stop()
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in with_traceback] == ["worker 'crash' crashed"]
    assert controller.failed == "crash"
