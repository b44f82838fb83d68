"""`fan_out`: one room delivery written to this process's members, the manager's hot loop."""

from __future__ import annotations

import types
from collections.abc import Collection, Generator, Iterator
from typing import Any

from pachinko.backends.base import Frames, Position
from pachinko.runtime.frames import Event
from pachinko.runtime.outbox import Outbox

Buffered = list[tuple[Position | None, Frames]]


def fan_out(
    members: Collection[Outbox],
    position: Position | None,
    frames: Frames,
    exclude: Collection[Outbox],
    syncing: dict[Outbox, Buffered] | None,
) -> int:
    """Hand `frames` to each member's outbox unless excluded; return how many were handed it.

    Members still syncing their history get it buffered instead. Each codec's
    bytes are encoded once and shared (the same event, and the same frame where
    the server takes frames: `pachinko.wire`). Nothing waits on the slowest
    member: a write that has to wait is finished in a task by its own outbox.
    """
    pending_members: Iterator[Outbox] = iter(tuple(members))
    delivery = Delivery(len(members), position, frames, exclude, syncing)
    while True:
        writes = delivery.write(pending_members)
        try:
            pending = writes.send(None)
        except StopIteration:
            return delivery.reached
        # NOTE: one member's ASGI send has to wait. Its outbox finishes that write in a
        # task by driving this generator on; the members after it go on at once, in a new
        # generator over the same iterator. Nothing resumes a generator before this loop
        # has used up the iterator, so each one ends right after its own waiting write.
        outbox = writes.gi_frame.f_locals["outbox"]
        outbox.finish_later(writes, pending)


class Delivery:
    """What one delivery shares across its write generators: bytes per codec, counts."""

    __slots__ = ("events", "exclude", "frames", "position", "reached", "syncing", "wired")

    def __init__(
        self,
        members: int,
        position: Position | None,
        frames: Frames,
        exclude: Collection[Outbox],
        syncing: dict[Outbox, Buffered] | None,
    ) -> None:
        self.reached = members  # NOTE: the rare skips subtract, so the hot loop counts nothing
        self.position = position
        self.frames = frames
        self.exclude = exclude
        self.syncing = syncing
        self.events: dict[object, Event] = {}
        self.wired: dict[object, bytes] = {}

    @types.coroutine
    def write(self, members: Iterator[Outbox]) -> Generator[Any, Any, None]:
        """Write to each member in turn; an ASGI send is driven inline with `yield from`.

        A send that completes at once (a socket with room) costs what `await` costs;
        one that has to wait suspends this generator, and `fan_out` hands it to the outbox.
        """
        exclude, syncing, events, wired = self.exclude, self.syncing, self.events, self.wired
        codec: object = None
        event: Event = {}
        frame = b""
        for outbox in members:
            if exclude and outbox in exclude:
                self.reached -= 1
                continue
            if syncing is not None and outbox in syncing:
                syncing[outbox].append((self.position, self.frames))
                self.reached -= 1
                continue
            if outbox.codec is not codec:
                codec = outbox.codec
                event = events.get(codec) or events.setdefault(
                    codec, outbox.wrap(self.frames.encoded(outbox.codec))
                )
                frame = wired.get(codec, b"")
            # PERF: inlines Outbox.push (its documented fields); this loop runs once per
            # member per broadcast. tests/unit/runtime/test_outbox.py runs both paths.
            if outbox.is_closed:
                self.reached -= 1
                continue
            if outbox.write_started or outbox.queue:
                outbox.enqueue(event)
                continue
            wire = outbox.wire
            if wire is not None:
                if not frame:
                    text = event.get("text")
                    frame = wired[codec] = wire.frame(event["bytes"] if text is None else text)
                try:
                    if not wire.write(frame):
                        outbox.wait_wire()
                except Exception:
                    outbox.is_closed = True
                continue
            try:
                yield from outbox.send(event)
            except Exception:
                outbox.is_closed = True
