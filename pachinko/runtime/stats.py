"""What the runtime counts: plain integers, read by extensions whenever they like.

Nothing here is called per message: the message loop increments these fields
itself (its `# PERF:` notes name the method each copy mirrors), without a lock,
since one event loop owns them. An exporter reads them at scrape time.
These classes and their fields are the contract of docs/extensions.md.
"""

from __future__ import annotations

from bisect import bisect_left

#: Upper bounds (seconds) of the handler duration histogram's buckets; +Inf is implied.
BOUNDS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: The label of message types a route does not declare (client-chosen strings).
OTHER = "other"

#: Close codes a client may send that are labelled as themselves; any other
#: client-chosen code is counted as `OTHER`. Codes the server chose are always kept.
STANDARD_CLOSE_CODES = frozenset((1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010))
STANDARD_CLOSE_CODES |= frozenset((1011, 1012, 1013, 1014, 1015))


class TypeStats:
    """Counts of one message type on one route, shared by the route's codec tables.

    A message is counted once its handling ends: handled (its time from arrival
    to the handler's return, or to its reply's write when it has one, goes to
    the histogram) or `refused` (a payload its schema refused). Histogram
    buckets, not cumulative: `fast` counts times up to `BOUNDS[0]`; `buckets[i]`
    (i >= 1) times in (`BOUNDS[i-1]`, `BOUNDS[i]`], the last one +Inf;
    `buckets[0]` stays 0. `seconds` is their total.
    """

    __slots__ = ("buckets", "fast", "refused", "seconds", "type")

    def __init__(self, type_: str) -> None:
        self.type = type_
        self.fast = 0
        self.buckets = [0] * (len(BOUNDS) + 1)
        self.seconds = 0.0
        self.refused = 0

    def observe(self, seconds: float) -> None:
        """Record one handled message that took `seconds`."""
        if seconds <= BOUNDS[0]:
            self.fast += 1
        else:
            self.buckets[bisect_left(BOUNDS, seconds)] += 1
        self.seconds += seconds

    def counts(self) -> list[int]:
        """Handled messages per bucket (not cumulative), +Inf last."""
        return [self.fast, *self.buckets[1:]]

    @property
    def received(self) -> int:
        """Messages of this type whose handling has ended, handled or refused."""
        return self.fast + sum(self.buckets) + self.refused


class RouteStats:
    """Counts of one route: connections, messages by type, error frames, closes.

    `route` is the route's URI template (mount included), never a filled path.
    `errors` maps an error code to the error frames sent; `closes` maps a close
    label (see `close_label`) to the connections that ended with it.
    """

    __slots__ = (
        "closed",
        "closes",
        "errors",
        "frames_sent",
        "opened",
        "other",
        "route",
        "slow_dropped",
        "types",
    )

    def __init__(self, route: str) -> None:
        self.route = route
        self.opened = 0
        self.closed = 0
        self.types: dict[str, TypeStats] = {}
        self.other = TypeStats(OTHER)
        self.errors: dict[str, int] = {}
        self.closes: dict[str, int] = {}
        self.slow_dropped = 0
        self.frames_sent = 0  # accepted by its connections' outboxes (not fan-out: see manager)

    def type_stats(self, type_: str) -> TypeStats:
        """The counts of a type the route declares (made on first use)."""
        found = self.types.get(type_)
        if found is None:
            found = self.types[type_] = TypeStats(type_)
        return found

    @property
    def open(self) -> int:
        """Connections open now."""
        return self.opened - self.closed

    def error_sent(self, code: str) -> None:
        """Count one error frame of `code` (DESIGN's error table: server-chosen)."""
        self.errors[code] = self.errors.get(code, 0) + 1

    def connection_closed(self, code: int, by_server: bool) -> None:
        """Count a connection that ended with `code`; `by_server` when the server closed it."""
        self.closed += 1
        label = close_label(code, by_server)
        self.closes[label] = self.closes.get(label, 0) + 1
        if by_server and code == 1013:
            self.slow_dropped += 1


def close_label(code: int, by_server: bool) -> str:
    """The label of a close code: itself when the server chose it or it is standard."""
    return str(code) if by_server or code in STANDARD_CLOSE_CODES else OTHER


class Stats:
    """Everything one router counts; `routes` in the order they were added.

    `is_counting_messages` turns on the per-message observation of the hot loop
    (handled messages and their durations, per type); everything else is
    counted always, off the per-message path. Connections read it when they
    open, so an extension sets it before serving (in `setup`).
    """

    __slots__ = ("is_counting_messages", "routes")

    def __init__(self) -> None:
        self.routes: list[RouteStats] = []
        self.is_counting_messages = False

    def route(self, template: str) -> RouteStats:
        """Add the counts of a new route."""
        stats = RouteStats(template)
        self.routes.append(stats)
        return stats
