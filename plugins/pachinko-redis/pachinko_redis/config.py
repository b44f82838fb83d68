"""`[backend] use = "redis"`: the keys, validated by `pachinko check`."""

from __future__ import annotations

import msgspec

from pachinko.manifest.values import Duration


class RedisConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The Redis backend's settings (docs/deployment.md explains each)."""

    url: str = "redis://127.0.0.1:6379/0"
    #: Names every key and channel; apps sharing one Redis need different prefixes
    #: (pub/sub ignores the database number).
    prefix: str = "pachinko"
    #: How long a crashed process's members may linger (its lease and the reaper's pass).
    presence_ttl: Duration = Duration(15.0)
    connect_timeout: Duration = Duration(2.0)
    #: Deadline of every Redis call: beyond it, `BackendUnavailable`.
    op_timeout: Duration = Duration(2.0)
    #: Broadcasts kept per room for catch-up after a link gap, in rooms without
    #: that much `history` (0: every gap is a `room.resync`).
    recovery: int = 64
    recovery_ttl: Duration = Duration(120.0)
    #: Command connections per process.
    pool_size: int = 16

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("url must start with redis://, rediss:// or unix://")
        if not self.prefix or any(c in self.prefix for c in " {}"):
            raise ValueError("prefix must be non-empty, without spaces or braces")
        if self.presence_ttl < 0.3:
            raise ValueError("presence_ttl must be at least 300ms")
        if self.op_timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("op_timeout and connect_timeout must be above 0")
        if self.recovery < 0 or self.pool_size < 1:
            raise ValueError("recovery must be >= 0 and pool_size >= 1")

    @property
    def lease(self) -> float:
        """A process's lease: with one heartbeat of lateness, members go within `presence_ttl`."""
        return self.presence_ttl * 0.6

    @property
    def heartbeat(self) -> float:
        return self.presence_ttl * 0.2
