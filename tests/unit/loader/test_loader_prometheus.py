"""`[plugins.prometheus]`: the built-in extension, checked like any plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pachinko.extensions.prometheus import Prometheus, PrometheusConfig
from pachinko.loader import check, plan
from pachinko.manifest import load

MANIFEST = """version = 1
[plugins.prometheus]
{key}

[[routes]]
path = "/ws"
"""


def manifest(folder: Path, key: str) -> Path:
    path = folder / "pachinko.toml"
    path.write_text(MANIFEST.format(key=key))
    return path


def test_prometheus_is_chosen_through_the_extensions_entry_point(tmp_path: Path) -> None:
    path = manifest(tmp_path, 'path = "/stats"')
    (extension,) = plan(load(path)).extensions
    assert (extension.name, extension.cls, extension.distribution) == (
        "prometheus",
        Prometheus,
        "falcon-pachinko",
    )
    assert extension.config == PrometheusConfig(path="/stats")


def test_a_path_without_its_leading_slash_is_reported_at_its_key(tmp_path: Path) -> None:
    path = manifest(tmp_path, 'path = "metrics"')
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (3, "invalid-value")
    assert "plugins.prometheus.path" in diagnostic.message


def test_without_prometheus_client_check_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTE: None in sys.modules makes `import prometheus_client` raise ImportError.
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "pachinko.extensions.prometheus")
    path = manifest(tmp_path, "")
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (2, "plugin-failed")
    assert "needs the prometheus-client package" in diagnostic.message
    assert diagnostic.hint == "pip install 'falcon-pachinko[prometheus]'"
