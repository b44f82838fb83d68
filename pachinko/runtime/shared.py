"""`Shared`: what every connection of one router shares, handed to each route endpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from time import monotonic
from typing import Any

from pachinko.codecs.base import Codec, Decode
from pachinko.runtime.connection import Connection
from pachinko.runtime.frames import FRAMERS, Envelope, Framer
from pachinko.runtime.hooks import HookMap
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Limits
from pachinko.runtime.stats import Stats
from pachinko.runtime.watchdog import Watchdog
from pachinko.runtime.workers import WorkerSpec, start_connection_workers

log = logging.getLogger("pachinko")


class Shared:
    """Codecs, envelope, limits, origins, global hooks, the manager, the watchdog and workers.

    The router makes one and hands it to every endpoint it creates; endpoints
    never see the router itself. `stats` is what its connections count, and
    `observers` the extensions told of each connection opened and closed
    (`connected(conn)`, `disconnected(conn, code)`; docs/extensions.md).
    """

    def __init__(
        self,
        manager: WebSocketConnectionManager,
        codecs: Iterable[Codec],
        default_codec: str,
        envelope: str,
        limits: Limits,
        origins: tuple[str, ...],
        hooks: HookMap,
    ) -> None:
        if envelope not in FRAMERS:
            raise ValueError(f"envelope must be 'nested' or 'flat', not {envelope!r}")
        self.manager = manager
        self.codecs: dict[str, Codec] = {codec.name: codec for codec in codecs}
        if default_codec not in self.codecs:
            raise ValueError(f"unknown default codec {default_codec!r}; have {sorted(self.codecs)}")
        self.default_codec = self.codecs[default_codec]
        self.by_subprotocol = {codec.subprotocol: codec for codec in self.codecs.values()}
        self.envelope = envelope
        self.is_flat = envelope == "flat"
        self.framer: Framer = FRAMERS[envelope]
        self.limits = limits
        manager.configure(self.codecs, self.framer, limits.max_history_bytes)
        self.origins = origins
        self.hooks = hooks
        self.watchdog = Watchdog(manager, limits)
        self.app: Any = None  # the Falcon app, once mounted (workers receive it)
        self.is_draining = False
        self.stats = Stats()
        self.observers: list[Any] = []
        self._decoders: dict[str, Decode] = {}
        self._nulls = {name: codec.encode(None) for name, codec in self.codecs.items()}
        self._workers: dict[str, list[asyncio.Task[None]]] = {}
        self._busy: set[str] | None = None  # while draining: connections still handling
        self._drained = asyncio.Event()

    def envelope_decoder(self, codec: Codec) -> Decode:
        """The decoder of client envelopes for `codec` (made once per codec)."""
        decoder = self._decoders.get(codec.name)
        if decoder is None:
            target = Envelope if self.envelope == "nested" else object
            decoder = self._decoders[codec.name] = codec.decoder(target)
        return decoder

    def null_payload(self, codec: Codec) -> bytes:
        """`null` in `codec`: the payload of a message that carries none."""
        return self._nulls[codec.name]

    # -- connection lifecycle ----------------------------------------------------------

    async def opened(self, conn: Connection) -> None:
        await self.manager.start()
        conn.activity.last = monotonic()
        self.manager.register(conn)
        self.watchdog.ensure_running()
        for observer in self.observers:
            try:
                getattr(observer, "connected", _ignore)(conn)
            except Exception:
                log.exception("extension %r failed on a connection opened", observer)

    async def closed(self, conn: Connection) -> None:
        tasks = self._workers.pop(conn.id, ())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.manager.unregister(conn)
        self.settled(conn)
        for observer in self.observers:
            try:
                getattr(observer, "disconnected", _ignore)(conn, conn.close_code)
            except Exception:
                log.exception("extension %r failed on a connection closed", observer)

    def start_workers(self, conn: Connection, specs: tuple[WorkerSpec, ...]) -> None:
        if specs:
            self._workers[conn.id] = start_connection_workers(
                specs, conn, self.app, lambda: conn.outbox.drop(1011)
            )

    # -- shutdown ------------------------------------------------------------------------

    async def close_all(self, code: int = 1001) -> None:
        """Close every local connection (server shutdown)."""
        async for conn in self.manager.connections():
            await conn.close(code, "server shutdown")

    async def drain(self, timeout: float) -> None:
        """Stop reading new frames, let running handlers reply, then close all with 1001.

        Connections waiting for a frame are closed at once; one whose handler is
        running is closed once that handler has replied (its loop reads no
        further frame); whatever is still open after `timeout` seconds is closed then.
        """
        was_draining, self.is_draining = self.is_draining, True
        busy = self._busy = set()
        async for conn in self.manager.connections():
            if conn.reply_type:  # NOTE: "" between messages: nothing is running
                busy.add(conn.id)
            else:
                await conn.close(1001, "server shutdown")
        if not was_draining:
            log.info("draining: %d connection(s) still handling a message", len(busy))
        if busy:
            try:
                await asyncio.wait_for(self._drained.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("%d connection(s) still busy after %.3gs", len(busy), timeout)
        await self.close_all(1001)

    def settled(self, conn: Connection) -> None:
        """Note that `conn` handles no more messages (while draining)."""
        busy = self._busy
        if busy is not None and conn.id in busy:
            busy.discard(conn.id)
            if not busy:
                self._drained.set()


def _ignore(*args: object) -> None:
    """What an observer that lacks one of the two callbacks gets."""
