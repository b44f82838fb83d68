"""A valid manifest loads into typed values with the defaults of DESIGN.md."""

from __future__ import annotations

from pathlib import Path

from pachinko.manifest import Locator, Manifest, load
from pachinko.manifest.model import BackendTable, LimitsTable
from pachinko.manifest.values import Duration, Rate

GOOD = Path(__file__).parents[2] / "manifests" / "good"


def test_full_example_loads_typed() -> None:
    manifest = load(GOOD / "full.toml")
    assert isinstance(manifest, Manifest)
    assert manifest.path == str((GOOD / "full.toml").absolute())
    assert isinstance(manifest.locations, Locator)
    assert manifest.app.envelope == "nested"
    assert manifest.limits.rate == Rate(50, 1.0)
    assert isinstance(manifest.limits.send_timeout, Duration)
    assert manifest.limits.idle_timeout == 120.0
    assert manifest.rooms[0].presence is True
    route = manifest.routes[0]
    assert route.hooks.before_receive == ["chat.audit:log_message"]
    assert route.messages["send"].handler == "chat.handlers:send"
    assert route.workers[0].every == Duration(5.0)
    assert route.workers[0].args == {"limit": 20}
    assert manifest.workers[0].restart == "on-failure"
    assert isinstance(manifest.workers[0].backoff, Duration)
    assert manifest.backend == BackendTable(use="memory", config={})
    assert manifest.plugins == {"metrics": {}}


def test_minimal_manifest_gets_every_default(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text("version = 1\n")
    manifest = load(path)
    assert manifest.limits == LimitsTable()
    assert manifest.security.allowed_origins == ["same-origin"]
    assert manifest.backend.use == "memory"
    assert manifest.routes == []


def test_message_defaults_and_numeric_durations(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text(
        'version = 1\n[limits]\nrate = "off"\nping_interval = 2.5\nsend_timeout = 3\n'
        '[[routes]]\npath = "/a"\n[routes.messages.ping]\n'
    )
    manifest = load(path)
    assert manifest.limits.rate.is_off
    assert manifest.limits.ping_interval == Duration(2.5)
    assert manifest.limits.send_timeout == Duration(3.0)
    message = manifest.routes[0].messages["ping"]
    assert (message.handler, message.reply, message.strict) == (None, None, True)


def test_backend_keys_besides_use_are_its_config(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text('version = 1\n[backend]\nuse = "redis"\nurl = "redis://x"\nprefix = "p"\n')
    assert load(path).backend == BackendTable(
        use="redis", config={"url": "redis://x", "prefix": "p"}
    )


def test_relative_path_becomes_absolute(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pachinko.toml").write_text("version = 1\n")
    monkeypatch.chdir(tmp_path)
    assert load("pachinko.toml").path == str(tmp_path / "pachinko.toml")
