"""The memory backend passes the shared conformance suite."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pachinko.backends.base import Backend
from pachinko.backends.memory import MemoryBackend
from pachinko.testing.conformance import BackendConformance


class TestMemoryBackend(BackendConformance):
    processes = 1

    @contextlib.asynccontextmanager
    async def backends(self, count: int) -> AsyncIterator[list[Backend]]:
        backend = MemoryBackend()
        yield [backend] * count
