"""`Connection`: what handlers, hooks and workers receive for one WebSocket connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pachinko.runtime.frames import MessageId, raw_event
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Activity
from pachinko.runtime.outbox import Outbox
from pachinko.runtime.stats import RouteStats

if TYPE_CHECKING:
    import falcon.asgi

    from pachinko.runtime.transport import Transport


# NOTE: `frozenset()` makes a new 216-byte object on every call; this one is shared.
NO_ROOMS: frozenset[str] = frozenset()


class Connection:
    """One accepted WebSocket connection, as handlers see it.

    Frames to one connection go out in the order they were sent, whoever sent
    them (its `outbox` owns that). Besides the handler API it carries two
    records the runtime keeps per connection: `outbox` and `activity` (when the
    client was last heard from, read by the watchdog for `idle_timeout`), and
    `stats`, the counts of its route (docs/extensions.md).
    """

    __slots__ = (
        "_params",
        "_state",
        "activity",
        "id",
        "manager",
        "message_id",
        "outbox",
        "reply_type",
        "rooms",
        "stats",
        "subprotocol",
        "transport",
    )

    def __init__(
        self,
        id_: str,
        *,
        manager: WebSocketConnectionManager,
        outbox: Outbox,
        transport: Transport | None = None,
        params: dict[str, object] | None = None,
        activity: Activity | None = None,
        subprotocol: str | None = None,
        stats: RouteStats | None = None,
    ) -> None:
        self.id = id_
        self.manager = manager
        self.outbox = outbox
        self.transport = transport
        # NOTE: most routes have no path fields: no dict is kept for them until asked for.
        self._params = params or None
        self._state: dict[str, object] | None = None  # NOTE: made on first use
        # NOTE: immutable and rebuilt on join/leave (rare): idle connections share one empty set.
        self.rooms: frozenset[str] = NO_ROOMS
        self.activity = activity if activity is not None else Activity()
        self.subprotocol = subprotocol
        self.stats = stats if stats is not None else RouteStats("")
        # The reply type and id of the message being handled; "" / None between messages.
        self.reply_type = ""
        self.message_id: MessageId = None

    @property
    def params(self) -> dict[str, object]:
        """The route's path fields (`/rooms/{room}` gives `params["room"]`)."""
        if self._params is None:
            self._params = {}
        return self._params

    @property
    def state(self) -> dict[str, object]:
        """Per-connection storage for handlers and hooks (`state["user"]` is the user)."""
        if self._state is None:
            self._state = {}
        return self._state

    @property
    def request(self) -> falcon.asgi.Request:
        """The upgrade request (a `falcon.asgi.Request`), made on first use."""
        if self.transport is None:
            raise AttributeError("this connection was made by hand, without a request")
        return self.transport.request

    @property
    def is_closed(self) -> bool:
        """True once the connection is closing or closed: later sends are dropped."""
        return self.outbox.is_closed

    @property
    def close_code(self) -> int | None:
        """The close code, once known."""
        return self.outbox.close_code

    def __repr__(self) -> str:
        return f"<Connection {self.id} rooms={sorted(self.rooms)}>"

    # -- sending ---------------------------------------------------------------

    async def send(self, type: str, payload: object = None) -> None:
        """Send `{"type": type, "payload": payload}` to this connection."""
        outbox = self.outbox
        await outbox.write(outbox.encode(type, payload, None))

    async def reply(self, payload: object) -> None:
        """Answer the message being handled: its reply type and id, sent at once."""
        if not self.reply_type:
            raise RuntimeError("reply() answers the message being handled; use send() elsewhere")
        outbox = self.outbox
        await outbox.write(outbox.encode(self.reply_type, payload, self.message_id))

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame verbatim: text for `str`, binary for `bytes`."""
        await self.outbox.write(raw_event(data))

    async def send_media(self, media: object) -> None:
        """Send `media` encoded by this connection's codec, with no envelope."""
        outbox = self.outbox
        await outbox.write(outbox.wrap(outbox.encode_bytes(media)))

    # -- rooms and lifecycle ---------------------------------------------------------

    async def join(self, room: str) -> None:
        """Join `room`; raises `pachinko.RoomFull` when it is at `max_members`."""
        await self.manager.join(self, room)

    async def leave(self, room: str) -> None:
        """Leave `room` (no-op when not a member)."""
        await self.manager.leave(self, room)

    # -- users (DESIGN section 4) ---------------------------------------------------

    @property
    def user(self) -> object:
        """Who this connection is, as set by `identify` (`state["user"]`); None until then."""
        return None if self._state is None else self._state.get("user")

    async def identify(self, user: str | int) -> None:
        """Set `state["user"]` and index this connection under `user` on every process."""
        await self.manager.identify(self, user)

    async def broadcast(
        self,
        room: str,
        type: str,
        payload: object = None,
        exclude_self: bool = False,
    ) -> None:
        """Send a frame to every member of `room`, optionally not to this connection."""
        await self.manager.broadcast(room, type, payload, exclude=self.id if exclude_self else None)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after the frames already queued; later sends are dropped."""
        await self.outbox.close(code, reason)

    # -- WebSocketLike -------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None) -> None:
        """No-op: pachinko accepts the connection before handlers and hooks see it."""

    async def receive_media(self) -> Any:
        """Receive and decode the next frame directly (from a handler only: it pauses dispatch)."""
        if self.transport is None:
            raise ConnectionError(f"connection {self.id} has no transport")
        event = await self.transport.receive()
        if event["type"] != "websocket.receive":
            self.outbox.is_closed = True
            raise ConnectionError(f"connection {self.id} closed")
        data = event.get("text")
        return self.outbox.codec.decoder(object)(event["bytes"] if data is None else data)


def log_fields(conn: Connection, message_type: str | None = None) -> dict[str, object]:
    """The `extra=` fields of a log line about `conn` (`pachinko serve --log-format json`).

    `message_type` is a type the route declares, never a client-chosen string.
    """
    fields: dict[str, object] = {"connection_id": conn.id, "route": conn.stats.route}
    if message_type is not None:
        fields["message_type"] = message_type
    return fields
