"""`TokenBucket`: the per-connection inbound rate limit (`[limits] rate` and `burst`)."""

from __future__ import annotations


class TokenBucket:
    """The inbound rate limit: `count` frames per `per` seconds, bursts up to `capacity`."""

    __slots__ = ("capacity", "last", "refill", "tokens")

    def __init__(self, count: int, per: float, capacity: int, now: float) -> None:
        self.refill = count / per
        self.capacity = float(capacity)
        self.tokens = self.capacity
        self.last = now

    def take(self, now: float) -> bool:
        """Take a token for a frame received at `now`; False when none is left."""
        tokens = min(self.capacity, self.tokens + (now - self.last) * self.refill)
        self.last = now
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True
