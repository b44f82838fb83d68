"""How pachinko talks to Redis: one set of connection options, every call bounded."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from pachinko_redis.config import RedisConfig

T = TypeVar("T")
#: What an unreachable, paused or restarting Redis raises.
DOWN = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


if sys.version_info >= (3, 11):

    async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
        async with asyncio.timeout(seconds):
            return await awaitable
else:

    async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
        return await asyncio.wait_for(awaitable, seconds)


def redis_options(config: RedisConfig) -> dict[str, Any]:
    """What every connection shares: RESP2 pinned, our own retries (none), keepalive."""
    return {
        "protocol": 2,
        "socket_connect_timeout": float(config.connect_timeout),
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 0),
    }
