"""Fixtures: a redis-server per session (most tests) or per test (restarts and pauses)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_harness import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server this test may kill, restart or pause."""
    with RedisServer(tmp_path) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """Keys and channels of this test only, on a shared server."""
    return f"t{uuid.uuid4().hex[:10]}"
