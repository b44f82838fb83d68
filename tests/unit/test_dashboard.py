"""docs/grafana-dashboard.json: built from metrics pachinko exports, each panel described."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pachinko
from pachinko.extensions.prometheus import Collector

DOCS = Path(__file__).parents[2] / "docs"


SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def exported() -> set[str]:
    """The names of every series the extension exports (before any sample exists)."""
    router = pachinko.WebSocketRouter()
    router.add_route("/ws", messages={"t": lambda conn, payload: None})
    return {
        metric.name + suffix
        for metric in Collector(router).collect()
        for suffix in SUFFIXES[metric.type]
    }


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bpachinko_\w+", target["expr"])
    }
    assert queried
    assert queried <= exported()


def test_every_panel_is_described_in_plain_text_in_the_operations_guide() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    guide = (DOCS / "operations.md").read_text()
    for panel in dashboard["panels"]:
        assert panel["description"]
        assert f"**{panel['title']}**" in guide, panel["title"]
