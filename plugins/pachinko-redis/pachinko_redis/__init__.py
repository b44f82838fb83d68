"""pachinko-redis: the `redis` backend of falcon-pachinko (`[backend] use = "redis"`)."""

from __future__ import annotations

from pachinko.errors import MissingDependency

try:
    import redis  # noqa: F401
except ImportError as error:
    raise MissingDependency(
        "the redis backend needs the 'redis' package (redis-py 8.1 or later)",
        "pip install 'redis>=8.1,<9' (or reinstall pachinko-redis)",
    ) from error

from pachinko_redis.backend import RedisBackend
from pachinko_redis.config import RedisConfig

__all__ = ["RedisBackend", "RedisConfig"]
