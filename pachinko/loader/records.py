"""What the loader hands to `build`: the runtime's own records, every import resolved.

Each manifest concept has one runtime record (`MessageSpec`, `WorkerSpec`,
`RoomOptions`, `Limits`, hook maps); the loader adds only what the runtime does not
run: where a route is, and a side table for `pachinko routes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pachinko.errors import Diagnostic
from pachinko.manifest.model import LimitsTable, Manifest
from pachinko.runtime.dispatch import MessageSpec, Subprotocol
from pachinko.runtime.hooks import HookMap
from pachinko.runtime.options import Limits, RoomOptions
from pachinko.runtime.workers import WorkerSpec


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """What `pachinko routes` shows of a message beside its `MessageSpec`."""

    summary: str
    source: str  # "file.py:LINE" of the handler, relative to the manifest's folder


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The arguments of `WebSocketRouter.add_route` for one `[[routes]]` entry."""

    path: str  # full path, mount included
    name: str | None
    join: tuple[str, ...]
    resource: type | None
    hooks: HookMap
    messages: tuple[MessageSpec, ...]
    workers: tuple[WorkerSpec, ...]
    info: dict[str, MessageInfo] = field(default_factory=dict)  # by message type
    subprotocols: tuple[Subprotocol, ...] = ()
    subprotocol_info: dict[str, dict[str, MessageInfo]] = field(default_factory=dict)  # by name


@dataclass(frozen=True, slots=True)
class PluginPlan:
    """A plugin chosen by the manifest: its class and its validated config Struct."""

    name: str
    cls: type
    config: object
    distribution: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A resolved manifest: everything `build` wires, nothing left to import."""

    manifest: Manifest
    path: Path
    app_name: str
    http_app: object | None  # a falcon.asgi.App, or a zero-arg factory of one
    codec: str
    codecs: dict[str, type]  # every installed codec, by name
    envelope: str
    limits: Limits
    allowed_origins: tuple[str, ...]
    backend: PluginPlan
    extensions: tuple[PluginPlan, ...]
    rooms: tuple[RoomOptions, ...]
    hooks: HookMap
    routes: tuple[RoutePlan, ...]
    workers: tuple[WorkerSpec, ...]
    warnings: tuple[Diagnostic, ...] = ()


def runtime_limits(table: LimitsTable) -> Limits:
    """The manifest's `[limits]` as the runtime's record."""
    return Limits(
        max_message_bytes=table.max_message_bytes,
        rate_count=table.rate.count,
        rate_per=table.rate.per,
        burst=table.burst,
        send_queue=table.send_queue,
        send_timeout=float(table.send_timeout),
        ping_interval=float(table.ping_interval),
        idle_timeout=float(table.idle_timeout),
        handshake_timeout=float(table.handshake_timeout),
        max_header_bytes=table.max_header_bytes,
        max_connections=table.max_connections,
        max_history_bytes=table.max_history_bytes,
        shutdown_timeout=float(table.shutdown_timeout),
    )
