"""The metrics a router's counts make, as plain records (no exporter library involved).

`families(router)` reads the runtime's plain integers (`pachinko.runtime.stats`,
the manager's broadcast counts) at call time; the `prometheus` extension turns
the records into prometheus-client families or multiprocess files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pachinko.runtime.frames import ERROR_CODES
from pachinko.runtime.health import backend_is_up
from pachinko.runtime.router import WebSocketRouter
from pachinko.runtime.stats import BOUNDS


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: its samples as (label values, value); histograms as (label values, buckets, sum).

    `name` is the metric's name without a `_total` suffix; `mode` is how a
    gauge adds up over worker processes ("livesum" or "livemin").
    """

    name: str
    kind: str  # "counter" | "gauge" | "histogram"
    help: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)
    histograms: list[tuple[tuple[str, ...], list[int], float]] = field(default_factory=list)
    mode: str = "livesum"


def families(router: WebSocketRouter) -> list[Family]:
    """Every `pachinko_` metric of `router`, read now."""
    route = ("route",)
    open_ = Family("pachinko_connections_open", "gauge", "Connections open now.", route)
    opened = Family("pachinko_connections_opened", "counter", "Connections accepted.", route)
    closed = Family(
        "pachinko_connections_closed",
        "counter",
        "Connections ended, by close code (client-chosen non-standard codes: 'other').",
        ("route", "code"),
    )
    received = Family(
        "pachinko_messages_received",
        "counter",
        "Messages read and handled or refused, by declared type (others: 'other').",
        ("route", "type"),
    )
    duration = Family(
        "pachinko_handler_duration_seconds",
        "histogram",
        "Time from a message's arrival to its handler's return or its reply's write.",
        ("route", "type"),
    )
    errors = Family(
        "pachinko_error_frames",
        "counter",
        "Error frames sent, by error code.",
        ("route", "code"),
    )
    slow = Family(
        "pachinko_slow_consumers_dropped",
        "counter",
        "Connections dropped with 1013 because they did not read their frames in time.",
        route,
    )
    frames_sent = 0
    for stats in router.stats.routes:
        key = (stats.route,)
        open_.samples.append((key, stats.open))
        opened.samples.append((key, stats.opened))
        closed.samples.extend(((stats.route, code), n) for code, n in sorted(stats.closes.items()))
        for type_stats in (*stats.types.values(), stats.other):
            received.samples.append(((stats.route, type_stats.type), type_stats.received))
        for type_stats in stats.types.values():
            labels = (stats.route, type_stats.type)
            duration.histograms.append((labels, type_stats.counts(), type_stats.seconds))
        codes = dict.fromkeys(ERROR_CODES, 0) | stats.errors
        errors.samples.extend(((stats.route, code), n) for code, n in codes.items())
        slow.samples.append((key, stats.slow_dropped))
        frames_sent += stats.frames_sent
    manager = router.manager
    frames_sent += manager.recipients
    return [
        open_,
        opened,
        closed,
        received,
        duration,
        Family(
            "pachinko_frames_sent",
            "counter",
            "Data frames handed to connections for sending (written or queued).",
            samples=[((), frames_sent)],
        ),
        errors,
        Family(
            "pachinko_broadcasts",
            "counter",
            "Room broadcasts fanned out to this process's members (presence included).",
            samples=[((), manager.broadcasts)],
        ),
        Family(
            "pachinko_broadcast_recipients",
            "counter",
            "Frames queued or written to room members by broadcasts.",
            samples=[((), manager.recipients)],
        ),
        slow,
        Family(
            "pachinko_backend_up",
            "gauge",
            "1 when the connection manager's backend is reachable, else 0.",
            samples=[((), 1.0 if backend_is_up(manager.backend) else 0.0)],
            mode="livemin",
        ),
    ]


def bucket_bounds() -> list[float]:
    """The histogram's upper bounds, +Inf last."""
    return [*BOUNDS, float("inf")]
