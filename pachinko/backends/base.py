"""The backend protocol (v2) that `pachinko.backends` plugins implement; see docs/backends.md."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

if TYPE_CHECKING:
    from pachinko.codecs.base import Codec


class Position(NamedTuple):
    """Where a broadcast sits in its room's total order: offsets grow by one per broadcast.

    A new `epoch` means the room's order started again (its backend lost it).
    """

    epoch: str
    offset: int


class Frames(Mapping[str, bytes]):
    """One outbound frame, encoded once per codec name, on first use (codec name -> bytes).

    Backends that cross processes call `freeze()` and ship the bytes; receivers wrap
    them in `Frames.of(...)` and never decode or re-encode the payload.
    """

    __slots__ = ("_codecs", "_encoded", "frame")

    def __init__(self, frame: object, codecs: Mapping[str, Codec]) -> None:
        self.frame = frame
        self._codecs = codecs
        self._encoded: dict[str, bytes] = {}

    @classmethod
    def of(cls, encoded: Mapping[str, bytes]) -> Frames:
        """Frames already encoded elsewhere (e.g. on another process)."""
        frames = cls(None, {})
        frames._encoded = dict(encoded)
        return frames

    def encoded(self, codec: Codec) -> bytes:
        """The frame as `codec` encodes it (computed once per codec name)."""
        data = self._encoded.get(codec.name)
        if data is None:
            if not self._codecs:  # shipped from elsewhere without this codec
                raise KeyError(codec.name)
            data = self._encoded[codec.name] = codec.encode(self.frame)
        return data

    def __getitem__(self, name: str) -> bytes:
        data = self._encoded.get(name)
        if data is None:
            data = self.encoded(self._codecs[name])
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._codecs or self._encoded)

    def __len__(self) -> int:
        return len(self._codecs or self._encoded)

    def freeze(self) -> dict[str, bytes]:
        """Every codec's bytes (encoding those not done yet)."""
        return {name: self[name] for name in self}


@dataclass(frozen=True, slots=True)
class JoinResult:
    """What one atomic join returns.

    `history` holds the room's last broadcasts (oldest first), all at or before
    `position`; every live broadcast after the join has an offset above it.
    """

    is_joined: bool  # False: the room was full
    position: Position
    history: tuple[Frames, ...] = ()


class Sink(Protocol):
    """What a backend calls on its process (implemented by the manager); never awaits."""

    def deliver(
        self, room: str, position: Position | None, frames: Frames, exclude: frozenset[str]
    ) -> None:
        """A room frame, for local members; `position` is None for presence frames."""
        ...

    def deliver_direct(self, connection_ids: tuple[str, ...], frames: Frames) -> int:
        """A frame for some local connections (`send_to`, `send_to_user`); how many were here."""
        ...

    def resync(self, room: str, reason: str) -> None:
        """Tell local members of `room` that they missed broadcasts (gap, reset, rewind)."""
        ...

    def presence(self, room: str, kind: str, connection_id: str, user: object) -> Frames | None:
        """The `presence.<kind>` frame for a member, or None when the room has no presence."""
        ...


class Backend(Protocol):
    """Shares rooms, membership, history and users between server processes.

    Every coroutine that needs the backend raises `pachinko.BackendUnavailable`
    within a bounded time when it cannot be reached; `leave` and `forget` always
    succeed locally. Delivery goes through the `Sink` given to `start`, this
    process included: `publish` never delivers locally first.
    """

    config: ClassVar[type]

    @property
    def is_up(self) -> bool:
        """Whether the backend is reachable and delivering (for health checks)."""
        ...

    def new_connection_id(self) -> str: ...

    async def start(self, sink: Sink, *, max_history_bytes: int) -> None: ...

    async def stop(self) -> None: ...

    async def join(
        self,
        room: str,
        connection_id: str,
        *,
        max_members: int,
        history: int,
        history_ttl: float,
        user: object,
        presence: Frames | None,
    ) -> JoinResult:
        """Check the cap, add the member, snapshot history and position, announce: atomically."""
        ...

    async def leave(
        self, room: str, connection_id: str, *, history_ttl: float, presence: Frames | None
    ) -> bool:
        """Remove a member (idempotent: False when it was not one); announce it."""
        ...

    async def publish(
        self,
        room: str,
        frames: Frames,
        exclude: frozenset[str],
        *,
        history: int,
        history_ttl: float,
    ) -> Position:
        """Give the broadcast the room's next position, keep `history` of them, fan out."""
        ...

    async def send_to(self, connection_id: str, frames: Frames) -> bool:
        """Deliver to one connection on any process; False when it is not known."""
        ...

    async def identify(self, connection_id: str, user: str) -> None: ...

    async def forget(self, connection_id: str) -> None:
        """Drop a closed connection from the user index."""
        ...

    async def send_to_user(self, user: str, frames: Frames) -> int:
        """Deliver to every connection of `user`; returns how many there were."""
        ...

    async def user_connections(self, user: str) -> set[str]: ...

    async def members(self, room: str) -> set[str]: ...

    async def rooms(self) -> set[str]: ...
