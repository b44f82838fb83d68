"""What the loader hands to `build`: a manifest with every import resolved.

Pure records; the builder turns them into runtime objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pachinko.errors import Diagnostic
from pachinko.manifest.model import Limits, Manifest, Security
from pachinko.manifest.values import Duration


@dataclass(frozen=True, slots=True)
class HookPlan:
    """Resolved hook callables by event name (missing events have no hooks)."""

    by_event: dict[str, tuple[Callable[..., object], ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessagePlan:
    type: str
    handler: Callable[..., object] | None  # None: the route's resource method
    payload_type: object  # a type msgspec can decode; `object` when the manifest gives none
    reply: str
    strict: bool
    summary: str
    source: str  # "file.py:LINE" of the handler, for `pachinko routes`


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    name: str
    target: Callable[..., object]
    every: Duration | None
    args: dict[str, object]
    restart: str = "never"
    max_restarts: int = 5
    backoff: Duration = Duration(1.0)  # noqa: RUF009 (a float: immutable)


@dataclass(frozen=True, slots=True)
class RoutePlan:
    path: str  # full path, mount included
    name: str | None
    join: tuple[str, ...]
    resource: type | None
    hooks: HookPlan
    messages: tuple[MessagePlan, ...]
    workers: tuple[WorkerPlan, ...]


@dataclass(frozen=True, slots=True)
class RoomPlan:
    name: str  # a name or a pattern with {placeholders}
    presence: bool
    history: int
    max_members: int
    history_ttl: float


@dataclass(frozen=True, slots=True)
class PluginPlan:
    """A plugin chosen by the manifest: its class and its validated config Struct."""

    name: str
    cls: type
    config: object
    distribution: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    manifest: Manifest
    path: Path
    app_name: str
    http_app: object | None  # a falcon.asgi.App, or a zero-arg factory of one
    codec: str
    codecs: dict[str, type]  # every installed codec, by name
    envelope: str
    limits: Limits
    security: Security
    backend: PluginPlan
    extensions: tuple[PluginPlan, ...]
    rooms: tuple[RoomPlan, ...]
    hooks: HookPlan
    routes: tuple[RoutePlan, ...]
    workers: tuple[WorkerPlan, ...]
    warnings: tuple[Diagnostic, ...] = ()
