"""Envelopes in and frames out, for both envelope styles (docs/guide.md, "The wire protocol")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from pachinko.codecs.base import Codec

Event = dict[str, Any]  # an ASGI event
MessageId = str | int | None


_FLAT_RESERVED = frozenset(("type", "id"))

#: The codes of error frames (docs/guide.md, "Errors").
ERROR_CODES = (
    "invalid_json",
    "invalid_envelope",
    "unknown_type",
    "invalid_payload",
    "rate_limited",
    "room_full",
    "internal_error",
    "backend_unavailable",
)
#: Why a member is told to reload a room (`room.resync`).
RESYNC_REASONS = ("gap", "reset", "rewind")

# NOTE: bounds on what a client chooses and error frames may echo back (the wire protocol).
MAX_TYPE = 128
MAX_ID = 128
INT64 = (-(2**63), 2**63 - 1)
MessageType = Annotated[str, msgspec.Meta(max_length=MAX_TYPE)]
ClientId = (
    Annotated[str, msgspec.Meta(max_length=MAX_ID)]
    | Annotated[int, msgspec.Meta(ge=INT64[0], le=INT64[1])]
    | None
)


class Envelope(msgspec.Struct):
    """A nested client frame; the payload stays raw until its type is known."""

    type: MessageType
    payload: msgspec.Raw = msgspec.Raw()
    id: ClientId = None


class ServerFrame(msgspec.Struct):
    """A server frame that answers no client message."""

    type: str
    payload: object = None


class ServerReply(msgspec.Struct):
    """A server frame that answers a client message (it carries its id)."""

    type: str
    payload: object
    id: str | int


def nested_frame(type_: str, payload: object, id_: MessageId) -> object:
    """Build `{"type", "payload"[, "id"]}`."""
    return ServerFrame(type_, payload) if id_ is None else ServerReply(type_, payload, id_)


def flat_frame(type_: str, payload: object, id_: MessageId) -> object:
    """Build a flat frame: an object payload's fields sit beside `type` and `id`."""
    if isinstance(payload, msgspec.Struct):
        payload = msgspec.to_builtins(payload)
    if not isinstance(payload, dict):
        return nested_frame(type_, payload, id_)
    frame = {**payload, "type": type_}
    if id_ is not None:
        frame["id"] = id_
    return frame


Framer = Callable[[str, object, MessageId], object]

FRAMERS: dict[str, Framer] = {
    "nested": nested_frame,
    "flat": flat_frame,
}


def error_payload(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def raw_event(data: str | bytes) -> Event:
    """An ASGI send event that carries `data` verbatim."""
    if isinstance(data, str):
        return {"type": "websocket.send", "text": data}
    return {"type": "websocket.send", "bytes": bytes(data)}


def decode_flat(decode: Callable[[Any], Any], data: str | bytes) -> tuple[Envelope, dict[str, Any]]:
    """Split a flat frame into its envelope and its payload fields."""
    value = decode(data)
    if not isinstance(value, dict):
        raise msgspec.ValidationError(f"Expected `object`, got `{type(value).__name__}`")
    type_ = value.get("type")
    id_ = value.get("id")
    if not isinstance(type_, str):
        raise msgspec.ValidationError("Object missing required field `type` of type `str`")
    if len(type_) > MAX_TYPE:
        raise msgspec.ValidationError(f"Expected `str` of length <= {MAX_TYPE} - at `$.type`")
    if id_ is not None and not _is_client_id(id_):
        raise msgspec.ValidationError(
            f"Expected `str` of length <= {MAX_ID}, a 64-bit `int` or `null` - at `$.id`"
        )
    fields = {key: item for key, item in value.items() if key not in _FLAT_RESERVED}
    return Envelope(type_, msgspec.Raw(), id_), fields


def _is_client_id(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_ID
    return type(value) is int and INT64[0] <= value <= INT64[1]


def is_well_formed(codec: Codec, data: str | bytes) -> bool:
    """Tell whether `data` decodes at all: msgspec checks types while it parses, so a
    malformed frame starting like a wrong type (`12x`, `[`) fails validation first."""
    try:
        codec.decoder(object)(data)
    except Exception:  # NOTE: nesting too deep (RecursionError) included
        return False
    return True


def envelope_reason(exc: msgspec.ValidationError) -> str:
    return f"frame must be an object with a string 'type': {exc}"


def payload_reason(message: str, is_flat: bool) -> str:
    """Rewrite msgspec's path (`$.count`) to the frame's (`$.payload.count`)."""
    if "`$" in message:
        return message if is_flat else message.replace("`$", "`$.payload", 1)
    return f"{message} - at `$`" if is_flat else f"{message} - at `$.payload`"
