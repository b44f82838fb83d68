"""What each key of `pachinko.toml` means: the descriptions of `pachinko schema`.

Keyed by the key's dotted path as users write it (`routes.messages.*.handler`: `*` is
a table key chosen by the user, array entries have no index), so renaming a Struct
of the model changes nothing here. A `msgspec.Meta(description=...)` on the model's
field wins over this table. A test checks that every key has a description and
that every entry here is still a key.
"""

from __future__ import annotations

_HOOK_LIST = "dotted imports of `async def hook(conn, event)`, run in order"

DESCRIPTIONS: dict[str, str] = {
    "version": "Manifest format version; this pachinko reads 1.",
    "app": "The application: name, mount point, codec and envelope style.",
    "app.name": "Name of the app; default: the manifest folder's name.",
    "app.description": "What the app does; shown in generated documents.",
    "app.mount": 'Prefix of every route path, e.g. "/ws" (default "": none).',
    "app.http": "A falcon.asgi.App, or a zero-argument factory of one, to extend "
    '("package.module:attr").',
    "app.codec": 'Default codec: "json", "msgpack" or the name of a pachinko.codecs plugin.',
    "app.envelope": '"nested": {"type", "payload", "id"} frames; "flat": payload fields '
    "sit beside type and id.",
    "app.compression": '"deflate" negotiates permessage-deflate (RFC 7692) with clients that '
    'offer it; "off" never does.',
    "app.health": "An HTTP path answering 200 when serving, 503 when the backend is down "
    "or the server is draining.",
    "limits": "Per-connection and per-process limits; every key is optional.",
    "limits.max_message_bytes": "Largest inbound frame (decompressed); larger ones close "
    "the connection with 1009.",
    "limits.rate": 'Inbound messages per connection: "N/s", "N/m" or "off".',
    "limits.burst": "Messages allowed above the rate at once; that many refusals in a row "
    "close with 1008.",
    "limits.send_queue": "Outbound frames buffered per connection; a full queue drops the "
    "connection (1013).",
    "limits.send_timeout": "A connection that cannot drain a write within this is dropped (1013).",
    "limits.ping_interval": "How often the server pings each connection.",
    "limits.idle_timeout": "No frame received for this long closes the connection with 1001.",
    "limits.handshake_timeout": "A TCP connection that has not completed its upgrade by "
    "then is closed.",
    "limits.max_header_bytes": "Larger request headers are refused with HTTP 431.",
    "limits.max_connections": "Open connections per process beyond which handshakes get "
    "HTTP 503 (0: no limit).",
    "limits.max_history_bytes": "Room history held by one process; the least recently used "
    "rooms' history is dropped beyond it.",
    "limits.shutdown_timeout": "On SIGTERM, running handlers may finish and reply within "
    "this; then connections close with 1001.",
    "security": "Who may open WebSocket connections.",
    "security.allowed_origins": 'Allowed Origin headers: "same-origin", "*", or full origins '
    'with "*" for a subdomain level or any port.',
    "backend": "The connection-manager backend; every key other than `use` goes to its config.",
    "backend.use": 'A pachinko.backends plugin, e.g. "memory" (in-process) or "redis".',
    "rooms": "Rooms connections can join: a name, or a pattern with {placeholders}.",
    "rooms.name": 'A room name, or a pattern with {placeholders} such as "chat:{room}".',
    "rooms.presence": "Members receive presence.join / presence.leave frames.",
    "rooms.history": "Last N room broadcasts replayed to a new member (0: off).",
    "rooms.max_members": "Members allowed at once (0: unlimited); joining a full room is an "
    'error "room_full".',
    "rooms.history_ttl": "The history of a room nobody is in is forgotten after this long.",
    "hooks": "Global hooks, the outermost layer around every route's.",
    "hooks.before_connect": f"Before the handshake is accepted: {_HOOK_LIST}.",
    "hooks.after_connect": f"After the connection is accepted: {_HOOK_LIST}.",
    "hooks.before_receive": f"Before each message's handler: {_HOOK_LIST}.",
    "hooks.after_receive": f"After each message's handler, even when it raised: {_HOOK_LIST}.",
    "hooks.before_disconnect": f"When the connection is closing: {_HOOK_LIST}.",
    "routes": "WebSocket routes: a path and the message types it handles.",
    "routes.path": "Falcon URI template under app.mount, e.g. /chat/{room} (converters allowed).",
    "routes.name": "Name of the route (channel name in AsyncAPI documents).",
    "routes.join": "Rooms joined on connect; {param} placeholders are filled from the path.",
    "routes.resource": "A pachinko.WebSocketResource subclass handling this route "
    '("package.module:Class").',
    "routes.hooks": "Hooks of this route, inside the global ones.",
    "routes.hooks.before_connect": f"Before the handshake is accepted: {_HOOK_LIST}.",
    "routes.hooks.after_connect": f"After the connection is accepted: {_HOOK_LIST}.",
    "routes.hooks.before_receive": f"Before each message's handler: {_HOOK_LIST}.",
    "routes.hooks.after_receive": f"After each message's handler, even when it raised: "
    f"{_HOOK_LIST}.",
    "routes.hooks.before_disconnect": f"When the connection is closing: {_HOOK_LIST}.",
    "routes.messages": "Message types of this route; each key is a message type.",
    "routes.messages.*": "How one message type is handled.",
    "routes.messages.*.handler": '`async def handler(conn, payload)` ("package.module:attr"); '
    "default: the route resource's method.",
    "routes.messages.*.payload": "A msgspec type the payload is decoded into; default: any value.",
    "routes.messages.*.reply": 'Type of the reply frame; default "<type>.reply".',
    "routes.messages.*.strict": "Unknown payload fields are an error.",
    "routes.messages.*.summary": "One line about the message, for generated documents.",
    "routes.workers": "Per-connection workers: started after connect, cancelled on disconnect.",
    "routes.workers.target": '`async def worker(ctx, **args)` ("package.module:attr").',
    "routes.workers.every": "Run every this long (fixed rate, no overlap); omitted: one "
    "long-running task.",
    "routes.workers.args": "Keyword arguments passed to the worker.",
    "workers": "App-wide workers, run for the server's lifespan.",
    "workers.name": "Name of the worker (unique).",
    "workers.target": '`async def worker(ctx, **args)` ("package.module:attr").',
    "workers.every": "Run every this long (fixed rate, no overlap); omitted: one "
    "long-running task.",
    "workers.restart": '"never": a crash stops the server; "on-failure" or "always": restart it.',
    "workers.max_restarts": "Restarts allowed before the server stops with a non-zero exit.",
    "workers.backoff": "Delay before the first restart, doubled after each (at most 60 s).",
    "workers.args": "Keyword arguments passed to the worker.",
    "plugins": "Extensions (pachinko.extensions plugins), each configured under [plugins.NAME].",
}
