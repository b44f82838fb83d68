"""What an AsyncAPI 3 document says the server receives: per channel, message types,
their payload fields (with a coarse JSON type) and their replies, each with its pointer.

Generated and hand-written documents are read by the same code, so `check --against`
compares like with like. Only local `$ref`s (`#/...`) are followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pachinko.contract.locate import Pointer

_PARAM = re.compile(r"\{[^}]*\}")
_ENVELOPE = frozenset({"type", "id"})

#: The key marking a channel that serves one application subprotocol (`pachinko asyncapi`).
SUBPROTOCOL_MARK = "x-pachinko-subprotocol"


@dataclass(frozen=True, slots=True)
class Received:
    """One client message type of a channel, as a document states it."""

    type: str
    at: Pointer  # where the message is defined
    kind: str  # the payload's coarse JSON type (`object`, `string`, `any`, ...)
    payload_at: Pointer  # where the payload's schema is
    fields: dict[str, tuple[str, Pointer]] | None  # name -> (kind, pointer); None: not an object
    replies: dict[str, Pointer]  # reply type -> where that reply message is defined


@dataclass(slots=True)
class Channel:
    """A channel's address and the messages the server receives on it."""

    address: str
    at: Pointer
    messages: dict[str, Received] = field(default_factory=dict)


def address_key(address: str) -> str:
    """Compare addresses without their parameter names: `/chat/{room}` -> `/chat/{}`."""
    return _PARAM.sub("{}", address.rstrip("/") or "/")


def received(data: object, envelope: str) -> dict[str, Channel]:
    """Read every `receive` operation of a document; channels keyed by `address_key`."""
    doc = _Document(data)
    channels: dict[str, Channel] = {}
    operations = data.get("operations") if isinstance(data, dict) else None
    for op_id, operation in (operations or {}).items():
        operation, at = doc.resolve(operation, ("operations", op_id))
        if not isinstance(operation, dict) or operation.get("action") != "receive":
            continue
        channel, channel_at = doc.resolve(operation.get("channel"), (*at, "channel"))
        address = channel.get("address") if isinstance(channel, dict) else None
        if not isinstance(address, str) or SUBPROTOCOL_MARK in channel:
            continue  # NOTE: drift compares what clients without a subprotocol get
        entry = channels.setdefault(
            address_key(address), Channel(address, (*channel_at, "address"))
        )
        reply, reply_at = doc.resolve(operation.get("reply"), (*at, "reply"))
        replies: dict[str, Pointer] = {}
        for i, ref in enumerate(_list(reply, "messages")):
            message, message_at = doc.resolve(ref, (*reply_at, "messages", i))
            type_ = doc.type_of(message, message_at)
            if type_ != "error":
                replies[type_] = message_at
        for i, ref in enumerate(_list(operation, "messages")):
            message, message_at = doc.resolve(ref, (*at, "messages", i))
            type_ = doc.type_of(message, message_at)
            kind, payload_at, fields = doc.payload_of(message, message_at, envelope)
            entry.messages[type_] = Received(type_, message_at, kind, payload_at, fields, replies)
    return channels


def _list(node: object, key: str) -> list[object]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def _json_kind(value: object) -> str:
    kinds = [(bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")]
    kinds += [(list, "array"), (dict, "object"), (type(None), "null")]
    return next(name for kind, name in kinds if isinstance(value, kind))


class _Document:
    """Local `$ref` resolution and schema reading over one parsed document."""

    def __init__(self, data: object) -> None:
        self.data = data

    def resolve(self, node: object, at: Pointer) -> tuple[object, Pointer]:
        """Follow `$ref`s to the node they name; return it and its pointer."""
        for _ in range(32):  # NOTE: a bound, so a cycle of refs cannot loop forever
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return node, at
            at, node = (), self.data
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node, at = node[int(part)], (*at, int(part))
                elif isinstance(node, dict) and part in node:
                    node, at = node[part], (*at, part)
                else:
                    return None, at
        return None, at

    def properties(self, schema: object, at: Pointer) -> dict[str, tuple[object, Pointer]]:
        """Every property a schema declares, its `allOf` parts' included."""
        schema, at = self.resolve(schema, at)
        found: dict[str, tuple[object, Pointer]] = {}
        if not isinstance(schema, dict):
            return found
        for i, part in enumerate(schema.get("allOf") or []):
            found.update(self.properties(part, (*at, "allOf", i)))
        for name, value in (schema.get("properties") or {}).items():
            found[name] = (value, (*at, "properties", name))
        return found

    def type_of(self, message: object, at: Pointer) -> str:
        """A message's type: its `name`, else its frame's `type` const, else its key."""
        if isinstance(message, dict):
            if isinstance(message.get("name"), str):
                return message["name"]
            type_ = self.properties(message.get("payload"), (*at, "payload")).get("type")
            if type_ is not None:
                schema, _ = self.resolve(*type_)
                if isinstance(schema, dict) and isinstance(schema.get("const"), str):
                    return schema["const"]
        return str(at[-1]) if at else "?"

    def payload_of(
        self, message: object, at: Pointer, envelope: str
    ) -> tuple[str, Pointer, dict[str, tuple[str, Pointer]] | None]:
        """The payload's kind, where its schema is, and its fields (None: not an object).

        A message payload with a `type` property is a frame (nested: its `payload`
        property holds the payload; flat: its other properties are the fields);
        otherwise the message payload is the frame's payload itself.
        """
        payload, at = self.resolve(
            message.get("payload") if isinstance(message, dict) else None, (*at, "payload")
        )
        frame = self.properties(payload, at)
        if "type" in frame and envelope == "nested":
            if "payload" not in frame:
                return "any", at, None
            payload, at = self.resolve(*frame["payload"])
            fields = self.properties(payload, at)
        elif "type" in frame:
            fields = {name: item for name, item in frame.items() if name not in _ENVELOPE}
            kind = "object" if fields else "any"
            return kind, at, {n: (self.kind(*item), item[1]) for n, item in fields.items()} or None
        else:
            fields = frame
        kind = self.kind(payload, at)
        found = {name: (self.kind(*item), item[1]) for name, item in fields.items()}
        return kind, at, found or None

    def kind(self, schema: object, at: Pointer, depth: int = 0) -> str:
        """A coarse JSON type of a schema: `string`, `integer|null`, `object`, `any`, ..."""
        schema, at = self.resolve(schema, at)
        if not isinstance(schema, dict) or depth > 16:
            return "any"
        if "const" in schema:
            return _json_kind(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return "|".join(sorted({_json_kind(value) for value in schema["enum"]}))
        declared = schema.get("type")
        kinds = {declared} if isinstance(declared, str) else set(declared or ())
        for word in ("anyOf", "oneOf", "allOf"):
            for i, part in enumerate(schema.get(word) or []):
                kinds.update(self.kind(part, (*at, word, i), depth + 1).split("|"))
        if "number" in kinds:
            kinds.discard("integer")
        kinds.discard("any")
        return "|".join(sorted(kinds)) or "any"
