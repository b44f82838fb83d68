"""pachinko wired like the `pachinko` contender, with the `prometheus` extension enabled.

The extension turns on the runtime's per-message counts (messages per type,
handler durations); nothing is scraped during the run, as between two scrapes.
"""

from __future__ import annotations

from typing import Any

import pachinko
from bench.contenders.pachinko_app import add, echo, fanout, stats
from bench.workload import ROOM
from pachinko.extensions.prometheus import Prometheus, PrometheusConfig


def make() -> Any:
    router = pachinko.WebSocketRouter(limits=pachinko.Limits(rate_count=0))
    app = pachinko.App(router=router, extensions=[Prometheus(PrometheusConfig())])
    router.add_route("/ws", messages={"add": add, "echo": echo, "stats": stats})
    router.add_route("/room", messages={"fanout": fanout}, join=[ROOM])
    return app
