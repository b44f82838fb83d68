"""Choose the plugins a manifest names (backend, codecs, extensions) and configure them."""

from __future__ import annotations

from pachinko.loader.config import validate_config
from pachinko.loader.plugins import (
    BACKENDS,
    CODECS,
    EXTENSIONS,
    PluginFailed,
    PluginInfo,
    Registry,
    UnknownPlugin,
)
from pachinko.loader.records import PluginPlan
from pachinko.manifest.diagnostics import (
    BAD_PLUGIN,
    PLUGIN_FAILED,
    UNKNOWN_PLUGIN,
    Collector,
    KeyPath,
    Problem,
)

_KIND = {BACKENDS: "backend", CODECS: "codec", EXTENSIONS: "extension"}
_CODEC_ATTRS = ("name", "subprotocol", "is_binary", "decoder")


def choose(
    registry: Registry, report: Collector, group: str, name: str, key: KeyPath
) -> tuple[PluginInfo, type] | None:
    """Load the plugin `name` of `group`, or record why it cannot be used (at `key`)."""
    kind = _KIND[group]
    try:
        cls = registry.load(group, name)
    except UnknownPlugin as error:
        hint = f"installed {kind}s: {', '.join(error.installed) or 'none'}"
        report.error(key, UNKNOWN_PLUGIN, f"unknown {kind} {name!r}", hint)
        return None
    except PluginFailed as error:
        hint = getattr(error.error, "hint", None) or "reinstall or fix that distribution"
        report.error(key, PLUGIN_FAILED, str(error), hint)
        return None
    if group != CODECS and not isinstance(getattr(cls, "config", None), type):
        message = f"{kind} {name!r} ({cls!r}) has no 'config' Struct class attribute"
        report.error(key, BAD_PLUGIN, message)
        return None
    return registry.info(group, name), cls  # type: ignore[return-value]


def configure(
    report: Collector, chosen: tuple[PluginInfo, type] | None, data: dict[str, object]
) -> PluginPlan | None:
    """Validate a chosen plugin's section against its `config` Struct."""
    if chosen is None:
        return None
    info, cls = chosen
    table: KeyPath = ("backend",) if info.group == BACKENDS else ("plugins", info.name)
    config, problems = validate_config(cls.config, data, table)  # type: ignore[attr-defined]
    for where, problem in problems:
        report.add(where, problem)
    return PluginPlan(info.name, cls, config, info.distribution)


def choose_codecs(registry: Registry, report: Collector, chosen: str) -> dict[str, type]:
    """Load every installed codec (clients may ask for any); only a broken `chosen` is an error."""
    found: dict[str, type] = {}
    for name in registry.names(CODECS):
        severity = "error" if name == chosen else "warning"
        try:
            cls = registry.load(CODECS, name)
        except PluginFailed as error:
            report.add(("app", "codec"), Problem(PLUGIN_FAILED, str(error), severity=severity))
            continue
        missing = [attr for attr in _CODEC_ATTRS if not hasattr(cls, attr)]
        if missing:
            message = f"codec {name!r} ({cls!r}) lacks {', '.join(missing)}"
            report.add(("app", "codec"), Problem(BAD_PLUGIN, message, severity=severity))
            continue
        found[name] = cls  # type: ignore[assignment]
    if chosen not in registry.names(CODECS):
        choose(registry, report, CODECS, chosen, ("app", "codec"))
    return found
