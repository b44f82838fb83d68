"""`prometheus`: the built-in metrics extension (a `pachinko.extensions` plugin).

It counts nothing itself: `setup` turns on the runtime's per-message counts and
adds an HTTP route; a scrape reads the runtime's plain integers then. With
several worker processes (`pachinko serve --workers N`, or any server with
`PROMETHEUS_MULTIPROC_DIR` set), each process writes its counts to
prometheus-client's multiprocess files every `flush_interval` (and at each
scrape it answers, and at shutdown), and a scrape merges every process's files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import falcon
import falcon.asgi
import msgspec

from pachinko.errors import MissingDependency
from pachinko.extensions.families import Family, bucket_bounds, families
from pachinko.manifest.values import Duration
from pachinko.runtime.router import WebSocketRouter

# NOTE: `mmap_dict` and `multiprocess` are prometheus-client's multiprocess-mode building
# blocks (no underscore names); the pin caps the major version and
# tests/e2e/test_metrics.py runs them across two worker processes.
try:
    from prometheus_client import CollectorRegistry, ProcessCollector
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
    from prometheus_client.utils import floatToGoString
except ImportError as error:
    raise MissingDependency(
        "the prometheus extension needs the prometheus-client package",
        "pip install 'falcon-pachinko[prometheus]'",
    ) from error

#: Set by `pachinko serve` for a multi-process run: a directory its processes share.
RUN_DIR = "PACHINKO_RUN_DIR"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


class PrometheusConfig(msgspec.Struct, forbid_unknown_fields=True):
    """`[plugins.prometheus]`."""

    path: Annotated[str, msgspec.Meta(pattern="^/")] = "/metrics"
    flush_interval: Duration = Duration(1.0)  # multi-process: how stale other workers may be


class Prometheus:
    """Serves the runtime's counts in Prometheus' text format on `config.path`."""

    config = PrometheusConfig

    def __init__(self, config: PrometheusConfig) -> None:
        self.settings = config
        self.router: WebSocketRouter | None = None
        self.files: ProcessFiles | None = None
        self._flusher: asyncio.Task[None] | None = None

    def setup(self, app: falcon.asgi.App, router: WebSocketRouter) -> None:
        """Turn on the per-message counts and serve `GET path` on `app`."""
        self.router = router
        router.stats.is_counting_messages = True
        registry = CollectorRegistry(auto_describe=True)
        directory = multiprocess_dir()
        if directory is None:
            registry.register(Collector(router))
            ProcessCollector(registry=registry)
        else:
            self.files = ProcessFiles(directory)
            MultiProcessCollector(registry, path=str(directory))
        app.add_route(self.settings.path, Scrape(registry, self.flush))

    async def startup(self, app: falcon.asgi.App) -> None:
        if self.files is not None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_every())

    async def shutdown(self, app: falcon.asgi.App) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self.files is not None:
            self.flush()
            self.files.close()
            self.files = None  # NOTE: a late scrape must not bring this process's gauges back

    def flush(self) -> None:
        """Multi-process: write this process's counts to its files (no-op otherwise)."""
        if self.files is not None and self.router is not None:
            self.files.write(families(self.router))

    async def _flush_every(self) -> None:
        interval = max(float(self.settings.flush_interval), 0.01)
        while True:
            self.flush()
            await asyncio.sleep(interval)


class Scrape:
    """The `GET [plugins.prometheus] path` resource (OpenMetrics when the scraper asks)."""

    def __init__(self, registry: CollectorRegistry, before: Callable[[], None]) -> None:
        self.registry = registry
        self.before = before

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        self.before()
        encode, content_type = choose_encoder(req.get_header("Accept") or "")
        resp.data = encode(self.registry)
        resp.content_type = content_type
        resp.cache_control = ["no-store"]


class Collector:
    """A prometheus-client collector reading a router's counts at scrape time."""

    def __init__(self, router: WebSocketRouter) -> None:
        self.router = router

    def collect(self) -> list[Metric]:
        return [_metric(family) for family in families(self.router)]


def _metric(family: Family) -> Metric:
    labels = list(family.labels)
    if family.kind == "histogram":
        histogram = HistogramMetricFamily(family.name, family.help, labels=labels)
        bounds = [floatToGoString(bound) for bound in bucket_bounds()]
        for values, buckets, total in family.histograms:
            running, cumulative = 0, []
            for bound, count in zip(bounds, buckets, strict=True):
                running += count
                cumulative.append((bound, running))
            histogram.add_metric(list(values), cumulative, total)
        return histogram
    kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
    metric = kind(family.name, family.help, labels=labels)
    for values, value in family.samples:
        metric.add_metric(list(values), value)
    return metric


def multiprocess_dir() -> Path | None:
    """Where worker processes share their counts, or None for a single process."""
    given = os.environ.get(MULTIPROC_DIR)
    if given:
        return Path(given)
    run = os.environ.get(RUN_DIR)
    if not run:
        return None
    directory = Path(run) / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class ProcessFiles:
    """This process's prometheus-client multiprocess files: absolute values, rewritten."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid = os.getpid()
        self._files: dict[str, MmapedDict] = {}

    def _file(self, kind: str) -> MmapedDict:
        found = self._files.get(kind)
        if found is None:
            path = self.directory / f"{kind}_{self.pid}.db"
            found = self._files[kind] = MmapedDict(str(path))
        return found

    def write(self, metrics: list[Family]) -> None:
        now = time.time()
        for family in metrics:
            labels = list(family.labels)
            if family.kind == "histogram":
                out = self._file("histogram")
                bounds = [floatToGoString(bound) for bound in bucket_bounds()]
                for values, buckets, total in family.histograms:
                    for bound, count in zip(bounds, buckets, strict=True):
                        name = family.name + "_bucket"
                        key = mmap_key(
                            family.name, name, [*labels, "le"], [*values, bound], family.help
                        )
                        out.write_value(key, count, now)
                    name = family.name + "_sum"
                    key = mmap_key(family.name, name, labels, list(values), family.help)
                    out.write_value(key, total, now)
                continue
            if family.kind == "counter":
                out, name = self._file("counter"), family.name + "_total"
            else:
                out, name = self._file(f"gauge_{family.mode}"), family.name
            for values, value in family.samples:
                out.write_value(
                    mmap_key(family.name, name, labels, list(values), family.help), value, now
                )

    def close(self) -> None:
        """Close the files; gauges of this process stop counting (counters stay)."""
        for file in self._files.values():
            file.close()
        self._files.clear()
        mark_process_dead(self.pid, str(self.directory))
