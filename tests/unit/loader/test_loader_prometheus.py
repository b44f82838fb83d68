"""`[plugins.prometheus]`: the built-in extension, checked like any plugin."""

from __future__ import annotations

import sys

import pytest
from conftest import Project

from pachinko.extensions.prometheus import Prometheus, PrometheusConfig
from pachinko.loader import check, plan
from pachinko.manifest import load

MANIFEST = """
[plugins.prometheus]
{key}

[[routes]]
path = "/ws"
"""


def test_prometheus_is_chosen_through_the_extensions_entry_point(project: Project) -> None:
    path = project.manifest(MANIFEST.format(key='path = "/stats"'))
    (extension,) = plan(load(path)).extensions
    assert (extension.name, extension.cls, extension.distribution) == (
        "prometheus",
        Prometheus,
        "falcon-pachinko",
    )
    assert extension.config == PrometheusConfig(path="/stats")


def test_a_path_without_its_leading_slash_is_reported_at_its_key(project: Project) -> None:
    path = project.manifest(MANIFEST.format(key='path = "metrics"'))
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (3, "invalid-value")
    assert "plugins.prometheus.path" in diagnostic.message


def test_without_prometheus_client_check_says_what_to_install(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTE: None in sys.modules makes `import prometheus_client` raise ImportError.
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "pachinko.extensions.prometheus")
    path = project.manifest(MANIFEST.format(key=""))
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (2, "plugin-failed")
    assert "needs the prometheus-client package" in diagnostic.message
    assert diagnostic.hint == "pip install 'falcon-pachinko[prometheus]'"
