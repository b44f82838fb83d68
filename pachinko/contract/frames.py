"""The frames of the wire protocol as AsyncAPI messages: client messages, replies, server frames."""

from __future__ import annotations

import msgspec

from pachinko.contract.payloads import PayloadSchemas
from pachinko.contract.routes import MessageInfo
from pachinko.runtime.frames import ERROR_CODES, INT64, MAX_ID, RESYNC_REASONS

ID = "pachinko.MessageId"

_SUMMARIES = {
    "error": "An error; the connection stays open unless it is closed with a code",
    "presence.join": "A member joined a room this connection is in",
    "presence.leave": "A member left a room this connection is in",
    "room.resync": "Reload the room's state: the backend could not replay what was missed",
}


class Frames:
    """Frame schemas for one envelope style (DESIGN.md section 3)."""

    def __init__(self, envelope: str, payloads: PayloadSchemas) -> None:
        self.is_flat = envelope == "flat"
        self.payloads = payloads

    def components(self) -> dict[str, object]:
        id_ = {
            "description": "Chosen by the client; echoed in the reply and in error frames",
            "oneOf": [
                {"type": "string", "maxLength": MAX_ID},
                {"type": "integer", "minimum": INT64[0], "maximum": INT64[1]},
            ],
        }
        return {**self.payloads.components, ID: id_}

    def frame(self, type_: str, payload: dict, *, needs_payload: bool, has_id: bool) -> dict:
        """The schema of a frame `{"type", "payload"[, "id"]}`, or its flat form."""
        head: dict[str, object] = {"type": {"type": "string", "const": type_}}
        if has_id:
            head["id"] = {"$ref": f"#/components/schemas/{ID}"}
        target = self.payloads.resolve(payload)
        if self.is_flat and (payload == {} or target.get("type") == "object"):
            # NOTE: flat frames carry an object payload's fields beside `type` and `id`.
            fields = target.get("properties", {})
            merged = {"type": "object", "properties": {**fields, **head}}
            merged["required"] = ["type", *(f for f in target.get("required", []) if f != "type")]
            if "anyOf" in target or "oneOf" in target:
                return {"allOf": [payload, merged]}
            for word in ("title", "description", "additionalProperties"):
                if word in target:
                    merged[word] = target[word]
            return merged
        required = ["type", "payload"] if needs_payload else ["type"]
        return {"type": "object", "properties": {**head, "payload": payload}, "required": required}

    def client_message(self, message: MessageInfo, payload: dict) -> dict:
        try:
            msgspec.convert(None, message.payload)
            needs_payload = False
        except (msgspec.ValidationError, TypeError):
            needs_payload = True
        found: dict[str, object] = {"name": message.type, "title": message.type}
        if message.summary:
            found["summary"] = message.summary
        found["payload"] = self.frame(
            message.type, payload, needs_payload=needs_payload, has_id=True
        )
        return found

    def reply_message(self, reply: str, payload: dict) -> dict:
        return {
            "name": reply,
            "title": reply,
            "summary": "The handler's reply; carries the message's id when it had one",
            "payload": self.frame(reply, payload, needs_payload=True, has_id=True),
        }

    def common_messages(self, has_presence: bool) -> dict[str, object]:
        """Server-initiated frames: errors, presence (when rooms have it) and resyncs."""
        error = {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": list(ERROR_CODES)},
                "message": {"type": "string"},
            },
            "required": ["code", "message"],
        }
        presence = {
            "type": "object",
            "properties": {
                "room": {"type": "string"},
                "connection": {"type": "string"},
                "user": {"description": "conn.state['user'] of the member, or null"},
            },
            "required": ["room", "connection", "user"],
        }
        resync = {
            "type": "object",
            "properties": {
                "room": {"type": "string"},
                "reason": {"type": "string", "enum": list(RESYNC_REASONS)},
            },
            "required": ["room", "reason"],
        }
        frames = {"error": (error, True)}
        if has_presence:
            frames["presence.join"] = (presence, False)
            frames["presence.leave"] = (presence, False)
        frames["room.resync"] = (resync, False)
        return {
            name: {
                "name": name,
                "title": name,
                "summary": _SUMMARIES[name],
                "payload": self.frame(name, schema, needs_payload=True, has_id=has_id),
            }
            for name, (schema, has_id) in frames.items()
        }
