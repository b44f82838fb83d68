"""Driving an ASGI send by hand: how broadcasts write without a task per frame.

A write to a socket with room completes at once, so `Outbox.push` and the
fan-out (`fanout.py`) drive the send themselves, outside any task; only one that
has to wait is handed to a task, which goes on from where it stopped (`resume`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator
from typing import Any

from pachinko.runtime.frames import Event

Send = Callable[[Event], Any]  # an ASGI send


def as_coroutine_function(send: Send) -> Send:
    """`send` as an `async def`: the fan-out drives it with `yield from`, which needs one."""

    async def native_send(event: Event) -> None:
        await send(event)

    return native_send


@types.coroutine
def resume(write: Generator[Any, Any, Any], pending: object) -> Generator[Any, Any, Any]:
    """Go on driving an awaitable stepped by hand that stopped at `pending` (a future)."""
    while True:
        try:
            sent = yield pending
        except BaseException as exc:
            try:
                pending = write.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = write.send(sent)
            except StopIteration as stop:
                return stop.value
