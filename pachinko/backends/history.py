"""Room history held by one process, bounded in bytes (LRU) and in time for empty rooms."""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Callable
from time import monotonic

#: Bytes an entry costs beyond its frames (deque slot, tuple, dict, bytes headers).
ENTRY_OVERHEAD = 200
#: Bytes a room with history costs beyond its entries (its record, deque, name and position).
ROOM_OVERHEAD = 1000


class Kept:
    """One room's history: `(offset, frames by codec name, size)`, oldest first."""

    __slots__ = ("entries", "size")

    def __init__(self) -> None:
        self.entries: deque[tuple[int, dict[str, bytes], int]] = deque()
        self.size = ROOM_OVERHEAD


class HistoryStore:
    """Every room's history in this process, within `budget` bytes.

    Beyond the budget the least recently used rooms' history is dropped whole;
    a room nobody is in loses its history once its `history_ttl` has passed.
    """

    def __init__(
        self,
        budget: int,
        clock: Callable[[], float] = monotonic,
        on_forget: Callable[[str], None] | None = None,
    ) -> None:
        self.budget = budget
        self.on_forget = on_forget
        self.size = 0
        self._clock = clock
        self._rooms: OrderedDict[str, Kept] = OrderedDict()  # least recently used first
        self._expiry: dict[str, float] = {}  # empty rooms -> when their history goes
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._rooms)

    def __contains__(self, room: object) -> bool:
        return room in self._rooms

    def add(self, room: str, offset: int, frames: dict[str, bytes], limit: int) -> None:
        """Keep a broadcast; the room keeps its last `limit`."""
        self.sweep()
        kept = self._rooms.get(room)
        if kept is None:
            kept = self._rooms[room] = Kept()
            self.size += kept.size
        else:
            self._rooms.move_to_end(room)
        size = sum(map(len, frames.values())) + ENTRY_OVERHEAD
        kept.entries.append((offset, frames, size))
        kept.size += size
        self.size += size
        while len(kept.entries) > limit:
            self._drop_oldest(kept)
        while self.size > self.budget and self._rooms:
            self.forget(next(iter(self._rooms)))

    def _drop_oldest(self, kept: Kept) -> None:
        _, _, size = kept.entries.popleft()
        kept.size -= size
        self.size -= size

    def last(self, room: str, count: int) -> list[tuple[int, dict[str, bytes]]]:
        """The room's last `count` broadcasts, oldest first (marks the room used)."""
        self.sweep()
        kept = self._rooms.get(room)
        if kept is None or count <= 0:
            return []
        self._rooms.move_to_end(room)
        entries = list(kept.entries)[-count:]
        return [(offset, frames) for offset, frames, _ in entries]

    def forget(self, room: str) -> None:
        kept = self._rooms.pop(room, None)
        self._expiry.pop(room, None)
        if kept is not None:
            self.size -= kept.size
            if self.on_forget is not None:
                self.on_forget(room)

    def emptied(self, room: str, ttl: float) -> None:
        """Nobody is in `room` (any more): its history goes after `ttl` seconds."""
        if room not in self._rooms or room in self._expiry:
            return
        if ttl <= 0:
            self.forget(room)
            return
        deadline = self._clock() + ttl
        self._expiry[room] = deadline
        heap = self._heap
        if len(heap) > 2 * len(self._expiry) + 64:
            # NOTE: entries of rooms forgotten or joined again linger; rebuild, keep it bounded.
            heap[:] = [(when, name) for name, when in self._expiry.items()]
            heapq.heapify(heap)
        else:
            heapq.heappush(heap, (deadline, room))

    def occupied(self, room: str) -> None:
        """Someone joined `room`: its history no longer expires."""
        self._expiry.pop(room, None)

    def sweep(self) -> None:
        """Forget the history of empty rooms whose time has come."""
        heap = self._heap
        if not heap:
            return
        now = self._clock()
        while heap and heap[0][0] <= now:
            deadline, room = heapq.heappop(heap)
            if self._expiry.get(room) == deadline:
                self.forget(room)
