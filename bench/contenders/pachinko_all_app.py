"""pachinko with everything on: every `[limits]` enabled, a hook on each layer, metrics.

The rate limit is high enough never to refuse bench traffic; `max_connections`
is above anything the bench opens. The `prometheus` extension is enabled (nothing
is scraped during the run, as between two scrapes).
"""

from __future__ import annotations

from typing import Any

import pachinko
from bench.contenders.pachinko_app import add, echo, fanout, stats
from bench.workload import ROOM
from pachinko.extensions.prometheus import Prometheus, PrometheusConfig

LIMITS = pachinko.Limits(
    max_message_bytes=65_536,
    rate_count=1_000_000,  # enabled, and never refusing bench traffic
    rate_per=1.0,
    burst=100_000,
    send_queue=256,
    send_timeout=5.0,
    ping_interval=20.0,
    idle_timeout=120.0,
    handshake_timeout=10.0,
    max_header_bytes=16_384,
    max_connections=19_000,
    max_history_bytes=16_777_216,
    shutdown_timeout=5.0,
)

seen = [0]  # NOTE: the hooks do a little real work, so none is optimised into nothing


async def global_hook(conn: pachinko.Connection, event: Any) -> None:
    seen[0] += 1


async def route_hook(conn: pachinko.Connection, event: Any) -> None:
    seen[0] += 1


class Resource(pachinko.WebSocketResource):
    """The innermost hook layer."""

    async def before_receive(self, conn: pachinko.Connection, event: Any) -> None:
        seen[0] += 1


def make() -> Any:
    hooks = {"before_connect": (global_hook,), "before_receive": (global_hook,)}
    router = pachinko.WebSocketRouter(limits=LIMITS, hooks=hooks)
    app = pachinko.App(router=router, extensions=[Prometheus(PrometheusConfig())])
    route_hooks = {"before_receive": (route_hook,)}
    router.add_route(
        "/ws", Resource, messages={"add": add, "echo": echo, "stats": stats}, hooks=route_hooks
    )
    router.add_route("/room", Resource, messages={"fanout": fanout}, join=[ROOM], hooks=route_hooks)
    return app
