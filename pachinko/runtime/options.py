"""Runtime settings: limits, room options, origins. Plain records, built by hand or by `build`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection limits (`[limits]` in docs/guide.md); times in seconds."""

    max_message_bytes: int = 1_048_576
    rate_count: int = 50  # 0: no rate limit
    rate_per: float = 1.0
    burst: int = 100
    send_queue: int = 256
    send_timeout: float = 5.0
    ping_interval: float = 20.0
    idle_timeout: float = 120.0
    handshake_timeout: float = 10.0
    max_header_bytes: int = 65_536
    max_connections: int = 0  # 0: as many as file descriptors allow
    max_history_bytes: int = 67_108_864  # all rooms' history in one process
    shutdown_timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class RoomOptions:
    """Options of the rooms whose name matches `pattern` (a name or `prefix:{placeholder}`)."""

    pattern: str
    presence: bool = False
    history: int = 0
    max_members: int = 0
    history_ttl: float = 600.0  # seconds the history of an empty room is kept
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{[^{}]*\}", self.pattern)
        source = ".+".join(map(re.escape, parts))
        object.__setattr__(self, "regex", re.compile(f"^{source}$"))

    def matches(self, room: str) -> bool:
        return self.regex.match(room) is not None


DEFAULT_ROOM = RoomOptions("*")

#: The scope extension through which a server reports when it last heard from the
#: client at all (pings and pongs included); `pachinko serve` provides it.
ACTIVITY = "pachinko.activity"


#: `Activity.last` of a connection heard from since the watchdog's last look: the
#: message loop stores this instead of reading the clock, and the watchdog stamps its own.
SEEN = -1.0


class Activity:
    """When the server last received bytes from the client (`time.monotonic()`, or `SEEN`)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0.0


#: What the message loop marks when the server keeps the activity itself: nobody reads it.
DISCARDED = Activity()


#: The scope extension through which a server takes frames built once for many
#: connections; `pachinko serve` provides it on connections that never compress.
WIRE = "pachinko.wire"


class Wire(Protocol):
    """A connection's wire: server frames are unmasked, so a broadcast's bytes on the
    wire are the same for every recipient; `frame` builds them once, `write` sends them."""

    def frame(self, payload: str | bytes) -> bytes:
        """The whole data frame for `payload` (text for `str`, binary for `bytes`)."""
        ...

    def write(self, frame: bytes) -> bool:
        """Write in order after everything sent before; False when the peer is behind."""
        ...

    async def drained(self) -> None:
        """Wait until the peer has caught up (the transport is below its high-water mark)."""
        ...


class RoomTable:
    """Finds the options of a room by name; the first matching declaration wins."""

    def __init__(self, rooms: tuple[RoomOptions, ...] = ()) -> None:
        self._exact = {room.pattern: room for room in rooms if "{" not in room.pattern}
        self._patterns = tuple(room for room in rooms if "{" in room.pattern)
        self._cache: dict[str, RoomOptions] = {}

    def options(self, room: str) -> RoomOptions:
        found = self._exact.get(room) or self._cache.get(room)
        if found is not None:
            return found
        found = next((r for r in self._patterns if r.matches(room)), DEFAULT_ROOM)
        if len(self._cache) < 10_000:  # NOTE: room names come from users; bound the cache.
            self._cache[room] = found
        return found
