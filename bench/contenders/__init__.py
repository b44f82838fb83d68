"""The contenders, each a module with `make() -> ASGI app`; every app serves
`/ws` (request/reply) and `/room` (members of one room; `fanout` broadcasts to it).

`pachinko+prometheus` is pachinko with the `prometheus` extension enabled
(module `pachinko_prometheus_app`), to measure what enabling it costs; `pachinko-all`
(module `pachinko_all_app`) is pachinko with everything on."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

NAMES = ("floor", "falcon", "litestar", "pachinko", "pachinko+prometheus", "pachinko-all")


def factory(name: str) -> Callable[[], Any]:
    """The `make` function of contender `name`."""
    if name not in NAMES:
        raise ValueError(f"unknown contender {name!r}; have {', '.join(NAMES)}")
    module = name.replace("+", "_").replace("-", "_")
    return importlib.import_module(f"bench.contenders.{module}_app").make
