"""An AsyncAPI 3.0 document of the app a manifest describes (`pachinko asyncapi`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from pachinko.contract.document import SUBPROTOCOL_MARK
from pachinko.contract.frames import Frames
from pachinko.contract.payloads import PayloadSchemas
from pachinko.contract.routes import AppInfo, RouteInfo, SubprotocolInfo, load_app

ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPES = {"json": "application/json", "msgpack": "application/msgpack"}
_KEY = re.compile(r"[^A-Za-z0-9._-]")


def asyncapi_document(app: AppInfo, host: str = "127.0.0.1", port: int = 8000) -> dict:
    """Describe the app's WebSocket routes as an AsyncAPI 3.0 document (JSON-compatible data).

    Each route is a channel; each of its `[[routes.subprotocols]]` is one more channel of
    the same address, marked `x-pachinko-subprotocol`, with a ws binding naming the
    `Sec-WebSocket-Protocol` value and the messages that subprotocol serves.
    """
    payloads = PayloadSchemas()
    variants = [
        (route, subprotocol) for route in app.routes for subprotocol in (None, *route.subprotocols)
    ]
    indexes = {
        id(message): (payloads.add(message.payload), payloads.add(message.reply_payload))
        for route, subprotocol in variants
        for message in (subprotocol or route).messages
    }
    payloads.build()
    builder = Frames(app.envelope, payloads)
    common = builder.common_messages(app.has_presence)
    channels: dict[str, object] = {}
    operations: dict[str, object] = {}
    for route, subprotocol in variants:
        base = route.name or _slug(route.path)
        name_ = base if subprotocol is None else f"{base}.{subprotocol.name}"
        channel_id = _unique(_KEY.sub("_", name_), channels)
        ref = {"$ref": f"#/channels/{channel_id}"}
        codec = app.codec if subprotocol is None else subprotocol.codec
        # NOTE: a subprotocol with a codec of its own frames everything in it, errors too.
        content_type = None if codec == app.codec else CONTENT_TYPES.get(codec, "")
        # NOTE: server frames first, so that their keys are never renamed.
        messages: dict[str, object] = {
            name: {**message, "contentType": content_type}
            if content_type
            else {"$ref": f"#/components/messages/{name}"}
            for name, message in common.items()
        }
        for name, message in common.items():
            operations[_unique(f"{channel_id}.{name}", operations)] = {
                "action": "send",
                "channel": ref,
                "summary": message["summary"],
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
            }
        replies: dict[str, str] = {}  # reply type -> its key in `messages`
        for message in (subprotocol or route).messages:
            payload, reply_payload = indexes[id(message)]
            key = _unique(_key(message.type), messages)
            messages[key] = builder.client_message(
                message, payloads.strict(payload, message.strict)
            )
            reply = builder.reply_message(message.reply, payloads.schemas[reply_payload])
            if content_type:
                messages[key]["contentType"] = reply["contentType"] = content_type
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
        channels[channel_id] = _channel(route, messages, subprotocol)
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


def address_of(path: str) -> str:
    """A channel address from a route's URI template: converters dropped (`{id:int}` -> `{id}`)."""
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", path)


def _channel(
    route: RouteInfo, messages: dict[str, object], subprotocol: SubprotocolInfo | None
) -> dict:
    channel: dict[str, object] = {"address": address_of(route.path), "messages": messages}
    if route.params:
        channel["parameters"] = {
            p.name: {
                "description": f"Path parameter '{p.name}'"
                + (f" (Falcon converter '{p.converter}')" if p.converter else "")
            }
            for p in route.params
        }
    if route.subprotocols and subprotocol is None:
        names = ", ".join(f"`{sub.name}`" for sub in route.subprotocols)
        channel["description"] = (
            f"Clients that offer none of this route's subprotocols ({names}); "
            "each has a channel of its own"
        )
    if subprotocol is not None:
        channel["title"] = f"{route.path} ({subprotocol.name})"
        channel["description"] = (
            f"Clients offering the subprotocol `{subprotocol.name}` get it when it is the "
            f"first they offer that the route speaks; frames in {subprotocol.codec}"
        )
        header = {
            "type": "string",
            "description": "Offered subprotocols, comma-separated; the server picks the first "
            "it speaks and answers with it",
            "examples": [subprotocol.name],
        }
        headers = {"type": "object", "properties": {"Sec-WebSocket-Protocol": header}}
        channel["bindings"] = {"ws": {"headers": headers, "bindingVersion": "0.1.0"}}
        channel[SUBPROTOCOL_MARK] = subprotocol.name
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
