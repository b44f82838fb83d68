"""The Redis backend passes the shared conformance suite; two backends stand for two processes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from pachinko_redis import RedisBackend, RedisConfig
from redis_harness import RedisServer

from pachinko.backends.base import Backend
from pachinko.manifest.values import Duration
from pachinko.testing.conformance import BackendConformance


class TestRedisBackend(BackendConformance):
    processes = 2

    @pytest.fixture(autouse=True)
    def _server(self, redis_server: RedisServer, prefix: str) -> None:
        self.url = redis_server.url
        self.prefix = prefix

    @contextlib.asynccontextmanager
    async def backends(self, count: int) -> AsyncIterator[list[Backend]]:
        config = RedisConfig(url=self.url, prefix=self.prefix, presence_ttl=Duration(3.0))
        yield [RedisBackend(config) for _ in range(count)]
