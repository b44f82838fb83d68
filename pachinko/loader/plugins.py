"""Plugins discovered through entry points: backends, codecs and extensions.

This is the one place that reads the `pachinko.*` entry-point groups; built-ins
(`memory`, `json`, `msgpack`) come through pachinko's own entry points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from pachinko.errors import PachinkoError

BACKENDS = "pachinko.backends"
CODECS = "pachinko.codecs"
EXTENSIONS = "pachinko.extensions"
GROUPS = (BACKENDS, CODECS, EXTENSIONS)


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One installed plugin: its entry point and the distribution supplying it."""

    group: str
    name: str
    value: str  # "package.module:attr"
    distribution: str | None
    version: str | None

    @property
    def origin(self) -> str:
        """Name the distribution and version, for messages."""
        if self.distribution is None:
            return "an unknown distribution"
        return f"{self.distribution} {self.version}"


class UnknownPlugin(PachinkoError, LookupError):
    """No installed plugin has that name in that group."""

    def __init__(self, group: str, name: str, installed: Iterable[str]) -> None:
        self.group = group
        self.name = name
        self.installed = tuple(installed)
        super().__init__(f"no plugin named {name!r} in {group}")


class PluginFailed(PachinkoError):
    """A plugin's entry point could not be loaded; the plugin's own error is the cause."""

    def __init__(self, info: PluginInfo, error: BaseException) -> None:
        self.info = info
        self.error = error
        super().__init__(
            f"plugin {info.name!r} ({info.group}, from {info.origin}) failed to load: "
            f"{type(error).__name__}: {error}"
        )


class Registry:
    """The installed plugins of the three groups, loaded on demand and cached."""

    def __init__(self, points: Iterable[EntryPoint] | None = None) -> None:
        if points is None:
            points = [point for group in GROUPS for point in entry_points(group=group)]
        self._points: dict[tuple[str, str], EntryPoint] = {}
        for point in points:
            # NOTE: the first distribution on sys.path wins, as for imports.
            self._points.setdefault((point.group, point.name), point)
        self._loaded: dict[tuple[str, str], object] = {}

    def discover(self) -> list[PluginInfo]:
        """List every installed plugin, sorted by group then name."""
        return sorted(
            (self.info(group, name) for group, name in self._points),
            key=lambda info: (GROUPS.index(info.group), info.name),
        )

    def names(self, group: str) -> list[str]:
        """Return the sorted names of the plugins installed in `group`."""
        return sorted(name for kind, name in self._points if kind == group)

    def info(self, group: str, name: str) -> PluginInfo:
        """Describe one plugin; raise UnknownPlugin if it is not installed."""
        point = self._point(group, name)
        dist = point.dist
        return PluginInfo(
            group=group,
            name=name,
            value=point.value,
            distribution=dist.name if dist is not None else None,
            version=dist.version if dist is not None else None,
        )

    def load(self, group: str, name: str) -> object:
        """Import a plugin's object.

        Raises:
            UnknownPlugin: nothing of that name is installed in `group`.
            PluginFailed: importing it raised; the original error is the cause.
        """
        key = (group, name)
        if key not in self._loaded:
            point = self._point(group, name)
            try:
                self._loaded[key] = point.load()
            except Exception as error:
                raise PluginFailed(self.info(group, name), error) from error
        return self._loaded[key]

    def _point(self, group: str, name: str) -> EntryPoint:
        point = self._points.get((group, name))
        if point is None:
            raise UnknownPlugin(group, name, self.names(group))
        return point


def discover() -> list[PluginInfo]:
    """List every installed pachinko plugin (for `pachinko plugins`)."""
    return Registry().discover()
