"""pachinko-redis: the `redis` backend of falcon-pachinko (`[backend] use = "redis"`)."""

from __future__ import annotations

from pachinko_redis.backend import RedisBackend
from pachinko_redis.config import RedisConfig

__all__ = ["RedisBackend", "RedisConfig"]
