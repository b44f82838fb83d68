"""One task per app that drops stuck writers (1013) and closes idle connections (1001).

Cheaper than a timer per write or per message: the hot path only stores a
timestamp (or, for a reply, `UNTIMED`: then the first look that finds the write
still in progress stamps it, so a stuck reply goes at most one look later). A
message marks its connection `SEEN` the same way instead of reading the clock.
This task looks at every connection four times per timeout.
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic

from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import SEEN, Limits
from pachinko.runtime.outbox import UNTIMED, Outbox

log = logging.getLogger("pachinko")


class Watchdog:
    """Watches the connections of `manager` against `limits` while any are open."""

    def __init__(self, manager: WebSocketConnectionManager, limits: Limits) -> None:
        self.manager = manager
        self.limits = limits
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        limits, manager = self.limits, self.manager
        period = max(0.01, min(limits.send_timeout, limits.idle_timeout) / 4)
        while manager.count():
            await asyncio.sleep(period)
            now = monotonic()
            async for conn in manager.connections():
                outbox = conn.outbox
                if outbox.is_closed:
                    continue
                started = outbox.write_started
                if started == UNTIMED:
                    outbox.write_started = now  # the reply path leaves the timing to us
                elif started and now - started > limits.send_timeout:
                    log.warning(
                        "dropping slow consumer %s (write over %.3gs)",
                        conn.id,
                        limits.send_timeout,
                        extra=_fields(conn.id, outbox, 1013),
                    )
                    outbox.drop(1013)
                    continue
                seen = conn.activity.last
                if seen == SEEN:
                    conn.activity.last = now  # heard from since the last look
                elif seen and now - seen > limits.idle_timeout:
                    log.info(
                        "closing idle connection %s",
                        conn.id,
                        extra=_fields(conn.id, outbox, 1001),
                    )
                    await conn.close(1001, "idle timeout")


def _fields(connection_id: str, outbox: Outbox, code: int) -> dict[str, object]:
    return {"connection_id": connection_id, "route": outbox.stats.route, "close_code": code}
