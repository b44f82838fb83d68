"""The Redis figure: cross-process broadcast latency that the Redis backend adds over in-process.

Hook for when the plugin exists (`plugins/pachinko-redis`, registered as the
`redis` entry point of `pachinko.backends`). `measure` should then:

1. start a Redis server (or use `$PACHINKO_BENCH_REDIS_URL`);
2. start two pachinko servers (`bench.serve`-style subprocesses) whose router
   uses the Redis backend, and put the room's members half on each;
3. fire broadcasts from a member on server A (as `network.broadcast` does) and
   take trigger-to-last-recipient time on server B's members;
4. return that latency minus the in-process (memory backend) latency for the
   same number of members, plus the server CPU per recipient of both servers.

`run.py` prints whatever dict this returns, or the reason it returned None.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def plugin_present() -> bool:
    return any(ep.name == "redis" for ep in entry_points(group="pachinko.backends"))


def measure(log: Any) -> tuple[dict[str, Any] | None, str]:
    """Return (figures, note); figures is None when there is nothing to measure."""
    if not plugin_present():
        return None, "n/a (plugin not present)"
    return None, "n/a (plugin present; measurement not written yet: see bench/redis.py)"
