"""An AsyncAPI 3.0 document of the app a manifest describes (`pachinko asyncapi`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import yaml

from pachinko.contract.payloads import PayloadSchemas
from pachinko.contract.routes import AppInfo, MessageInfo, RouteInfo, load_app
from pachinko.runtime.frames import ERROR_CODES, INT64, MAX_ID, RESYNC_REASONS

ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPES = {"json": "application/json", "msgpack": "application/msgpack"}
_KEY = re.compile(r"[^A-Za-z0-9._-]")
_ID = "pachinko.MessageId"

_SUMMARIES = {
    "error": "An error; the connection stays open unless it is closed with a code",
    "presence.join": "A member joined a room this connection is in",
    "presence.leave": "A member left a room this connection is in",
    "room.resync": "Reload the room's state: the backend could not replay what was missed",
}


def asyncapi_document(app: AppInfo, host: str = "127.0.0.1", port: int = 8000) -> dict:
    """Describe the app's WebSocket routes as an AsyncAPI 3.0 document (JSON-compatible data)."""
    payloads = PayloadSchemas()
    indexes = {
        id(message): (payloads.add(message.payload), payloads.add(message.reply_payload))
        for route in app.routes
        for message in route.messages
    }
    payloads.build()
    builder = _Frames(app.envelope, payloads)
    common = builder.common_messages(app.has_presence)
    channels: dict[str, object] = {}
    operations: dict[str, object] = {}
    for route in app.routes:
        channel_id = _unique(_KEY.sub("_", route.name or _slug(route.path)), channels)
        ref = {"$ref": f"#/channels/{channel_id}"}
        # NOTE: server frames first, so that their keys are never renamed.
        messages: dict[str, object] = {
            name: {"$ref": f"#/components/messages/{name}"} for name in common
        }
        for name, message in common.items():
            operations[_unique(f"{channel_id}.{name}", operations)] = {
                "action": "send",
                "channel": ref,
                "summary": message["summary"],
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
            }
        replies: dict[str, str] = {}  # reply type -> its key in `messages`
        for message in route.messages:
            payload, reply_payload = indexes[id(message)]
            key = _unique(_key(message.type), messages)
            messages[key] = builder.client_message(
                message, payloads.strict(payload, message.strict)
            )
            reply = builder.reply_message(message.reply, payloads.schemas[reply_payload])
            if message.reply in replies:
                _merge(messages[replies[message.reply]], reply)
            else:
                replies[message.reply] = _unique(_key(message.reply), messages)
                messages[replies[message.reply]] = reply
            operations[_unique(f"{channel_id}.{key}", operations)] = {
                "action": "receive",
                "channel": ref,
                "summary": message.summary or f"Handle '{message.type}'",
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{key}"}],
                "reply": {
                    "channel": ref,
                    "messages": [
                        {"$ref": f"#/channels/{channel_id}/messages/{replies[message.reply]}"},
                        {"$ref": f"#/channels/{channel_id}/messages/error"},
                    ],
                },
            }
        channels[channel_id] = _channel(route, messages)
    info: dict[str, object] = {"title": app.name, "version": "0.0.0"}
    if app.description:
        info["description"] = app.description
    document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": CONTENT_TYPES.get(app.codec, "application/octet-stream"),
        "servers": {"default": {"host": f"{_bracketed(host)}:{port}", "protocol": "ws"}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": builder.components(), "messages": common},
    }
    payloads.prune(document)
    return document


def asyncapi_text(
    manifest: Path, output: Path | None, fmt: str | None, host: str, port: int
) -> str:
    """Load the manifest and render its document as `pachinko asyncapi` prints it.

    Raises:
        ManifestError: when the manifest is not valid.
    """
    document = asyncapi_document(load_app(manifest), host, port)
    return render(document, format_for(output, fmt))


def render(document: dict, fmt: str) -> str:
    """Render a document as `json` or `yaml` text."""
    if fmt == "yaml":
        return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def format_for(output: Path | None, fmt: str | None) -> str:
    """Pick the output format: `--format`, else the file's suffix, else JSON."""
    if fmt is not None:
        return fmt
    if output is not None and output.suffix.lower() in (".yaml", ".yml"):
        return "yaml"
    return "json"


class _Dumper(yaml.SafeDumper):
    """Plain YAML: a shared value is written out each time, never as an `&anchor`."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class _Frames:
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
        return {**self.payloads.components, _ID: id_}

    def frame(self, type_: str, payload: dict, *, needs_payload: bool, has_id: bool) -> dict:
        """The schema of a frame `{"type", "payload"[, "id"]}`, or its flat form."""
        head: dict[str, object] = {"type": {"type": "string", "const": type_}}
        if has_id:
            head["id"] = {"$ref": f"#/components/schemas/{_ID}"}
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


def address_of(path: str) -> str:
    """A channel address from a route's URI template: converters dropped (`{id:int}` -> `{id}`)."""
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", path)


def _channel(route: RouteInfo, messages: dict[str, object]) -> dict:
    channel: dict[str, object] = {"address": address_of(route.path), "messages": messages}
    if route.params:
        channel["parameters"] = {
            p.name: {
                "description": f"Path parameter '{p.name}'"
                + (f" (Falcon converter '{p.converter}')" if p.converter else "")
            }
            for p in route.params
        }
    # NOTE: extension point: per-subprotocol messages will be described here (their
    # own channels, or a ws binding listing the Sec-WebSocket-Protocol names).
    return channel


def _merge(old: dict, reply: dict) -> None:
    """Two messages of a route share a reply type: its frame is either one."""
    if old["payload"] != reply["payload"]:
        old["payload"] = {"anyOf": [old["payload"], reply["payload"]]}


def _bracketed(host: str) -> str:
    """An IPv6 address in a `host:port` pair is written in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _key(message_type: str) -> str:
    return _KEY.sub("_", message_type) or "_"


def _slug(path: str) -> str:
    return "-".join(re.sub(r"[{}]|:[^}]*", "", part) for part in path.split("/") if part) or "root"


def _unique(key: str, taken: dict[str, object]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    return candidate
