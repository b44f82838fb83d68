"""The manifest as msgspec Structs: every key of DESIGN.md section 2, with its default.

Pure data: nothing here imports user code. Durations and rates are parsed into
`Duration` and `Rate` by the decoder's `dec_hook` (see `pachinko.manifest.parse`).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from pachinko.manifest.values import Duration, Rate


class Section(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of every manifest table: unknown keys are errors."""


class AppSection(Section):
    name: str | None = None  # None: the manifest folder's name
    description: str = ""
    mount: str = ""
    http: str | None = None
    codec: str = "json"
    envelope: Literal["nested", "flat"] = "nested"
    compression: Literal["off", "deflate"] = "off"
    health: str | None = None  # an HTTP path answering 200/503 for load balancers


class Limits(Section):
    max_message_bytes: int = 1_048_576
    rate: Rate = Rate(50, 1.0)
    burst: int = 100
    send_queue: int = 256
    send_timeout: Duration = Duration(5.0)
    ping_interval: Duration = Duration(20.0)
    idle_timeout: Duration = Duration(120.0)
    handshake_timeout: Duration = Duration(10.0)
    max_header_bytes: int = 65_536
    max_connections: int = 0  # 0: as many as file descriptors allow
    max_history_bytes: int = 67_108_864
    shutdown_timeout: Duration = Duration(5.0)


class Security(Section):
    allowed_origins: list[str] = msgspec.field(default_factory=lambda: ["same-origin"])


class Room(Section):
    name: str
    presence: bool = False
    history: int = 0
    max_members: int = 0
    history_ttl: Duration = Duration(600.0)


class Hooks(Section):
    before_connect: list[str] = msgspec.field(default_factory=list)
    after_connect: list[str] = msgspec.field(default_factory=list)
    before_receive: list[str] = msgspec.field(default_factory=list)
    after_receive: list[str] = msgspec.field(default_factory=list)
    before_disconnect: list[str] = msgspec.field(default_factory=list)


class Message(Section):
    handler: str | None = None  # None: the route's resource handles this type
    payload: str | None = None  # None: any value of the codec
    reply: str | None = None  # None: "<type>.reply"
    strict: bool = True
    summary: str = ""


class RouteWorker(Section):
    target: str
    every: Duration | None = None
    args: dict[str, object] = msgspec.field(default_factory=dict)


class Route(Section):
    path: str
    name: str | None = None
    join: list[str] = msgspec.field(default_factory=list)
    resource: str | None = None
    hooks: Hooks = msgspec.field(default_factory=Hooks)
    messages: dict[str, Message] = msgspec.field(default_factory=dict)
    workers: list[RouteWorker] = msgspec.field(default_factory=list)


class Worker(Section):
    name: str
    target: str
    every: Duration | None = None
    restart: Literal["never", "on-failure", "always"] = "never"
    max_restarts: int = 5
    backoff: Duration = Duration(1.0)
    args: dict[str, object] = msgspec.field(default_factory=dict)


class Backend(msgspec.Struct, kw_only=True):
    """`[backend]`: `use` names a plugin; every other key is that plugin's config."""

    use: str = "memory"
    config: dict[str, object] = msgspec.field(default_factory=dict)


class Manifest(Section):
    """A parsed `pachinko.toml`. `path` is where it was read from."""

    version: int
    app: AppSection = msgspec.field(default_factory=AppSection)
    limits: Limits = msgspec.field(default_factory=Limits)
    security: Security = msgspec.field(default_factory=Security)
    backend: Backend = msgspec.field(default_factory=Backend)
    rooms: list[Room] = msgspec.field(default_factory=list)
    hooks: Hooks = msgspec.field(default_factory=Hooks)
    routes: list[Route] = msgspec.field(default_factory=list)
    workers: list[Worker] = msgspec.field(default_factory=list)
    plugins: dict[str, dict[str, object]] = msgspec.field(default_factory=dict)
    # NOTE: not TOML keys; filled in by the parser.
    path: str = ""
    locations: object = None  # a Locator (pachinko.manifest.locator) or None
