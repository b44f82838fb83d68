"""The manifest as msgspec Structs: every key of docs/manifest.md, with its default.

Pure data: nothing here imports user code. Each key's documentation and constraints
are declared here with `msgspec.Meta`; the structural checker (`pachinko.manifest.check`)
and the generated reference (`pachinko.manifest.reference`) both read them.
Durations and rates are parsed into `Duration` and `Rate` by the decoder's `dec_hook`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from pachinko.manifest.values import Duration, Rate

#: A name or import string: at least one non-blank character.
NOT_BLANK = r"\S"

# NOTE: msgspec range-checks numbers only, so the bound of a duration sits in `extra`.
POSITIVE = {"gt": 0}


def _name(description: str, **extra: object) -> Meta:
    return Meta(pattern=NOT_BLANK, description=description, **extra)  # type: ignore[arg-type]


def _see(header: str) -> Meta:
    return Meta(description=f"see {header}")


class Section(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of every manifest table: unknown keys are errors."""


_APP_NAME = _name("the app's name; default: the manifest folder's name", examples=["chat"])
_HTTP = _name(
    "a falcon.asgi.App, or a zero-argument factory of one, to extend", examples=["chat.web:app"]
)
_HEALTH = _name("HTTP path answering 200, or 503 when down", examples=["/health"])


class AppSection(Section):
    """`[app]`: the application as a whole."""

    name: Annotated[str, _APP_NAME] | None = None
    description: Annotated[str, Meta(description="free text, shown by tools")] = ""
    mount: Annotated[str, Meta(description="prefix of every route path", examples=["/ws"])] = ""
    http: Annotated[str, _HTTP] | None = None
    codec: Annotated[str, _name('default codec: "json", "msgpack" or a codec plugin')] = "json"
    envelope: Annotated[Literal["nested", "flat"], Meta(description="where payload fields sit")] = (
        "nested"
    )
    compression: Annotated[
        Literal["off", "deflate"], Meta(description="permessage-deflate (RFC 7692)")
    ] = "off"
    health: Annotated[str, _HEALTH] | None = None


class LimitsTable(Section):
    """`[limits]`: per-connection and per-process limits."""

    max_message_bytes: Annotated[
        int, Meta(ge=1, description="larger inbound frame: close 1009")
    ] = 1_048_576
    rate: Annotated[
        Rate, Meta(description='inbound messages per connection: "N/s", "N/m", "off"')
    ] = Rate(50, 1.0)
    burst: Annotated[int, Meta(ge=1, description="refused frames in a row before close 1008")] = 100
    send_queue: Annotated[
        int, Meta(ge=1, description="outbound frames buffered per connection")
    ] = 256
    send_timeout: Annotated[
        Duration, Meta(extra=POSITIVE, description="slower writes drop the connection (1013)")
    ] = Duration(5.0)
    ping_interval: Annotated[
        Duration, Meta(extra=POSITIVE, description="how often the server pings")
    ] = Duration(20.0)
    idle_timeout: Annotated[
        Duration, Meta(extra=POSITIVE, description="no frame for this long: close 1001")
    ] = Duration(120.0)
    handshake_timeout: Annotated[
        Duration, Meta(extra=POSITIVE, description="an upgrade not completed by then is closed")
    ] = Duration(10.0)
    max_header_bytes: Annotated[int, Meta(ge=1, description="larger request headers: HTTP 431")] = (
        65_536
    )
    max_connections: Annotated[
        int, Meta(ge=0, description="0: as many as file descriptors allow; beyond: HTTP 503")
    ] = 0
    max_history_bytes: Annotated[
        int, Meta(ge=0, description="all rooms' history held by one process")
    ] = 67_108_864
    shutdown_timeout: Annotated[
        Duration, Meta(description="on SIGTERM, running handlers may finish within this")
    ] = Duration(5.0)


_ORIGINS = Meta(description='"same-origin", "*", or origins (wildcard subdomains and ports)')


class Security(Section):
    """`[security]`: who may connect."""

    allowed_origins: Annotated[list[str], _ORIGINS] = msgspec.field(
        default_factory=lambda: ["same-origin"]
    )


_ROOM_NAME = _name("a name, or a pattern with {placeholders}", examples=["chat:{room}"])
_HISTORY_TTL = Meta(description="the history of a room nobody is in is kept this long")


class Room(Section):
    """`[[rooms]]`: options of the rooms whose name matches `name`."""

    name: Annotated[str, _ROOM_NAME]
    presence: Annotated[bool, Meta(description="members receive presence.join / leave")] = False
    history: Annotated[
        int, Meta(ge=0, description="last N broadcasts replayed to a new member")
    ] = 0
    max_members: Annotated[int, Meta(ge=0, description="0: unlimited")] = 0
    history_ttl: Annotated[Duration, _HISTORY_TTL] = Duration(600.0)


_HOOKS = Meta(description="import strings of `async def hook(conn, event)`")


class Hooks(Section):
    """`[hooks]` and `[routes.hooks]`: hook import strings by event."""

    before_connect: Annotated[list[str], _HOOKS] = msgspec.field(default_factory=list)
    after_connect: Annotated[list[str], _HOOKS] = msgspec.field(default_factory=list)
    before_receive: Annotated[list[str], _HOOKS] = msgspec.field(default_factory=list)
    after_receive: Annotated[list[str], _HOOKS] = msgspec.field(default_factory=list)
    before_disconnect: Annotated[list[str], _HOOKS] = msgspec.field(default_factory=list)


_HANDLER = _name(
    "`async def handler(conn, payload)`; default: the resource's method",
    examples=["chat.handlers:send"],
)
_PAYLOAD = _name(
    "a msgspec type; default: the handler's annotation, else any value",
    examples=["chat.schemas:Send"],
)
_REPLY = _name('type of the reply frame; default "<type>.reply"', examples=["sent"])


class MessageTable(Section):
    """`[routes.messages.TYPE]`: how one message type is handled."""

    handler: Annotated[str, _HANDLER] | None = None
    payload: Annotated[str, _PAYLOAD] | None = None
    reply: Annotated[str, _REPLY] | None = None
    strict: Annotated[bool, Meta(description="unknown payload fields are an error")] = True
    summary: Annotated[str, Meta(description="one line, shown by `pachinko routes`")] = ""


_EVERY = Meta(
    extra=POSITIVE, description="omitted: one long-running task", examples=[Duration(5.0)]
)
_ARGS = Meta(description="keyword arguments of the worker", examples=[{"limit": 20}])


class RouteWorker(Section):
    """`[[routes.workers]]`: a per-connection worker."""

    target: Annotated[str, _name("`async def worker(ctx, **args)`", examples=["chat.inbox:poll"])]
    every: Annotated[Duration, _EVERY] | None = None
    args: Annotated[dict[str, object], _ARGS] = msgspec.field(default_factory=dict)


#: An RFC 6455 subprotocol: an HTTP token (RFC 7230), e.g. "chat.v2".
TOKEN = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
_SUBPROTOCOL_NAME = Meta(
    pattern=TOKEN,
    description="a Sec-WebSocket-Protocol token clients may offer",
    examples=["chat.v2"],
)
_SUBPROTOCOL_CODEC = _name("its codec; default: the app codec", examples=["msgpack"])
_SUBPROTOCOL_RESOURCE = _name(
    "a WebSocketResource subclass; default: the route's", examples=["chat.v2:ChatRoomV2"]
)
_SUBPROTOCOL_MESSAGES = Meta(description="added to the route's messages, or replacing them by type")


class SubprotocolTable(Section):
    """`[[routes.subprotocols]]`: an application subprotocol the route speaks."""

    name: Annotated[str, _SUBPROTOCOL_NAME]
    codec: Annotated[str, _SUBPROTOCOL_CODEC] | None = None
    resource: Annotated[str, _SUBPROTOCOL_RESOURCE] | None = None
    messages: Annotated[dict[str, MessageTable], _SUBPROTOCOL_MESSAGES] = msgspec.field(
        default_factory=dict
    )


_PATH = _name("a Falcon URI template, under app.mount", examples=["/chat/{room}"])
_JOIN = Meta(
    description="rooms joined on connect; {param} from the path", examples=[["chat:{room}"]]
)
_RESOURCE = _name("a WebSocketResource subclass", examples=["chat.rooms:ChatRoom"])


class Route(Section):
    """`[[routes]]`: one WebSocket path."""

    path: Annotated[str, _PATH]
    name: Annotated[str, _name("a name for url_for", examples=["chat"])] | None = None
    join: Annotated[list[str], _JOIN] = msgspec.field(default_factory=list)
    resource: Annotated[str, _RESOURCE] | None = None
    hooks: Annotated[Hooks, Meta(description="route hooks")] = msgspec.field(default_factory=Hooks)
    messages: Annotated[dict[str, MessageTable], Meta(description="message type -> handling")] = (
        msgspec.field(default_factory=dict)
    )
    workers: Annotated[list[RouteWorker], Meta(description="per-connection workers")] = (
        msgspec.field(default_factory=list)
    )
    subprotocols: Annotated[
        list[SubprotocolTable], Meta(description="application subprotocols it speaks")
    ] = msgspec.field(default_factory=list)


_RESTART = Meta(description="never: a crash stops the server")
_BACKOFF = Meta(description="restart delay, doubled each time, up to 60s")


class Worker(Section):
    """`[[workers]]`: an app-wide worker, run for the server's lifespan."""

    name: Annotated[str, _name("unique among workers", examples=["ticker"])]
    target: Annotated[str, _name("`async def worker(ctx, **args)`", examples=["chat.ticker:tick"])]
    every: Annotated[Duration, _EVERY] | None = None
    restart: Annotated[Literal["never", "on-failure", "always"], _RESTART] = "never"
    max_restarts: Annotated[int, Meta(ge=0, description="then the server stops, as with never")] = 5
    backoff: Annotated[Duration, _BACKOFF] = Duration(1.0)
    args: Annotated[dict[str, object], _ARGS] = msgspec.field(default_factory=dict)


class BackendTable(msgspec.Struct, kw_only=True):
    """`[backend]`: `use` names a plugin; every other key is that plugin's config."""

    use: Annotated[str, _name("a pachinko.backends plugin")] = "memory"
    config: dict[str, object] = msgspec.field(default_factory=dict)


_PLUGINS = Meta(description="[plugins.NAME]: an extension's config")


class Manifest(Section):
    """A parsed `pachinko.toml`. `path` is where it was read from."""

    version: Annotated[int, Meta(description="the manifest format; only 1")]
    app: Annotated[AppSection, _see("[app]")] = msgspec.field(default_factory=AppSection)
    limits: Annotated[LimitsTable, _see("[limits]")] = msgspec.field(default_factory=LimitsTable)
    security: Annotated[Security, _see("[security]")] = msgspec.field(default_factory=Security)
    backend: Annotated[BackendTable, _see("[backend]")] = msgspec.field(
        default_factory=BackendTable
    )
    rooms: Annotated[list[Room], _see("[[rooms]]")] = msgspec.field(default_factory=list)
    hooks: Annotated[Hooks, _see("[hooks]")] = msgspec.field(default_factory=Hooks)
    routes: Annotated[list[Route], _see("[[routes]]")] = msgspec.field(default_factory=list)
    workers: Annotated[list[Worker], _see("[[workers]]")] = msgspec.field(default_factory=list)
    plugins: Annotated[dict[str, dict[str, object]], _PLUGINS] = msgspec.field(default_factory=dict)
    # NOTE: not TOML keys; filled in by the parser.
    path: str = ""
    locations: object = None  # a Locator (pachinko.manifest.locator) or None
    diagnostics: tuple[object, ...] = ()  # structural Diagnostics of a salvaged manifest
    broken: frozenset[tuple[object, ...]] = frozenset()  # key paths replaced by fillers

    def is_broken(self, key: tuple[str | int, ...]) -> bool:
        """Tell whether the value at `key`, or a table holding it, was reported and replaced."""
        return any(key[:n] in self.broken for n in range(1, len(key) + 1))

    def has_broken_part(self, key: tuple[str | int, ...]) -> bool:
        """Tell whether some value at or inside `key` was reported and replaced."""
        return self.is_broken(key) or any(k[: len(key)] == key for k in self.broken)
