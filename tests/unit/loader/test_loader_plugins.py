"""Plugins: discovered through entry points, validated, selected by the manifest."""

from __future__ import annotations

import importlib.util
from importlib.metadata import EntryPoint

import msgspec
import pytest

from pachinko.errors import ManifestError
from pachinko.loader import check, plan
from pachinko.loader.config import validate_config
from pachinko.loader.plugins import (
    BACKENDS,
    CODECS,
    EXTENSIONS,
    PluginFailed,
    Registry,
    UnknownPlugin,
    discover,
)
from pachinko.manifest import load
from pachinko.manifest.values import Duration


@pytest.fixture
def fake_installed() -> None:
    """Fail, never skip, without the fake plugin: the test command installs it."""
    if importlib.util.find_spec("pachinko_fake") is None:
        pytest.fail("pachinko-fake is not installed: pip install ./tests/plugins/pachinko-fake")


needs_fake = pytest.mark.usefixtures("fake_installed")


def test_builtins_come_through_our_own_entry_points() -> None:
    found = {(info.group, info.name): info for info in discover()}
    memory = found[(BACKENDS, "memory")]
    assert memory.value == "pachinko.backends.memory:MemoryBackend"
    assert memory.distribution == "falcon-pachinko"
    assert {(CODECS, "json"), (CODECS, "msgpack")} <= set(found)


def test_unknown_plugin_lists_the_installed_ones() -> None:
    registry = Registry(
        [EntryPoint("a", "os:sep", EXTENSIONS), EntryPoint("b", "os:sep", EXTENSIONS)]
    )
    with pytest.raises(UnknownPlugin) as caught:
        registry.load(EXTENSIONS, "c")
    assert caught.value.installed == ("a", "b")
    assert registry.load(EXTENSIONS, "a") == "/"


def test_a_plugin_that_fails_to_import_is_an_error_not_a_crash() -> None:
    registry = Registry([EntryPoint("broken", "fx_loader_nowhere:Thing", BACKENDS)])
    with pytest.raises(PluginFailed) as caught:
        registry.load(BACKENDS, "broken")
    assert "plugin 'broken' (pachinko.backends, from an unknown distribution)" in str(caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_a_broken_backend_is_reported_at_its_use_key(project) -> None:
    path = project.manifest("""
        [backend]
        use = "broken"
    """)
    registry = Registry(
        [
            EntryPoint("broken", "fx_loader_nowhere:Thing", BACKENDS),
            EntryPoint("json", "pachinko.codecs.builtin:JsonCodec", CODECS),
        ]
    )
    with pytest.raises(ManifestError) as caught:
        plan(load(path), registry)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.code) == (3, "plugin-failed")


def test_a_broken_unused_codec_is_only_a_warning(project) -> None:
    path = project.manifest("")
    registry = Registry(
        [
            EntryPoint("memory", "pachinko.backends.memory:MemoryBackend", BACKENDS),
            EntryPoint("json", "pachinko.codecs.builtin:JsonCodec", CODECS),
            EntryPoint("broken", "fx_loader_nowhere:Codec", CODECS),
        ]
    )
    result = plan(load(path), registry)
    assert [(d.severity, d.code) for d in result.warnings] == [("warning", "plugin-failed")]
    assert set(result.codecs) == {"json"}


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: int
    greeting: str = "hi"
    ttl: Duration = Duration(15.0)


def test_config_reports_every_bad_key_not_just_the_first() -> None:
    data = {"levle": 1, "greeting": 3, "ttl": "soon"}
    config, problems = validate_config(Config, data, ("plugins", "fake"))
    assert config is None
    assert [(key, p.code) for key, p in problems] == [
        (("plugins", "fake", "levle"), "unknown-key"),
        (("plugins", "fake"), "missing-key"),
        (("plugins", "fake", "greeting"), "wrong-type"),
        (("plugins", "fake", "ttl"), "invalid-value"),
    ]
    assert problems[0][1].hint == "did you mean 'level'?"
    assert problems[2][1].message == "expected str for 'plugins.fake.greeting', got int"


def test_config_values_are_converted() -> None:
    config, problems = validate_config(Config, {"level": 2, "ttl": "2m"}, ("backend",))
    assert problems == []
    assert config == Config(level=2, ttl=Duration(120.0))


@needs_fake
def test_fake_distribution_is_discovered_with_its_version() -> None:
    found = {(info.group, info.name): info for info in discover()}
    for key in [(EXTENSIONS, "fake"), (CODECS, "fakejson"), (BACKENDS, "fake")]:
        assert found[key].distribution == "pachinko-fake"
        assert found[key].version == "0.3.1"


@needs_fake
def test_fake_extension_config_is_validated_at_its_keys(project) -> None:
    path = project.manifest("""
        [plugins.fake]
        level = "x"
        colour = "red"
    """)
    assert [(d.line, d.column, d.code) for d in check(path)] == [
        (3, 1, "wrong-type"),
        (4, 1, "unknown-key"),
    ]


@needs_fake
def test_fake_extension_missing_key_points_at_its_table(project) -> None:
    path = project.manifest("""
        [plugins.fake]
        greeting = "hello"
    """)
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (2, "missing-key")
    assert diagnostic.message == "missing required key 'level' in [plugins.fake]"


@needs_fake
def test_fake_plugins_are_selected_into_the_plan(project) -> None:
    path = project.manifest("""
        [app]
        codec = "fakejson"

        [backend]
        use = "fake"
        url = "fake://here"

        [plugins.fake]
        level = 3
    """)
    result = plan(load(path))
    assert result.codec == "fakejson"
    assert result.codecs["fakejson"].subprotocol == "pachinko.fakejson"
    (extension,) = result.extensions
    assert extension.name == "fake"
    assert extension.distribution == "pachinko-fake"
    assert isinstance(extension.config, extension.cls.config)
    assert (extension.config.level, extension.config.greeting) == (3, "hi")
    assert result.backend.config.url == "fake://here"
