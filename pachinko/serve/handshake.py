"""The HTTP/1.1 request head: bounded parsing, upgrade validation, refusals, the ASGI scope."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from pachinko.runtime.options import ACTIVITY, Activity

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class BadRequest(Exception):
    """The head cannot be served; answered with `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class Head:
    """A parsed request line and header block (names lower-cased, as ASGI wants them)."""

    method: str
    target: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]

    def get(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def tokens(self, name: bytes) -> set[bytes]:
        """The comma-separated tokens of every `name` header, lower-cased."""
        found: set[bytes] = set()
        for key, value in self.headers:
            if key == name:
                found.update(t.strip().lower() for t in value.split(b","))
        return found

    @property
    def is_upgrade(self) -> bool:
        return b"websocket" in self.tokens(b"upgrade")


def parse_head(block: bytes) -> Head:
    """Parse a request head (without its final blank line); strict HTTP/1.x only."""
    lines = block.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TOKEN:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not target:
        raise BadRequest(400, "unsupported HTTP version")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or not set(name) <= _TOKEN:
            raise BadRequest(400, "malformed header line")
        headers.append((name.lower(), value.strip(b" \t")))
    return Head(method.decode("ascii"), target, version, headers)


def check_upgrade(head: Head) -> None:
    """Refuse a WebSocket upgrade RFC 6455 does not allow (400, or 426 for the version)."""
    if head.version != b"HTTP/1.1":
        raise BadRequest(400, "WebSocket upgrades need HTTP/1.1")
    if head.method != "GET":
        raise BadRequest(400, "WebSocket upgrades use GET")
    if b"upgrade" not in head.tokens(b"connection"):
        raise BadRequest(400, "missing Connection: Upgrade")
    keys = [value for name, value in head.headers if name == b"sec-websocket-key"]
    if len(keys) != 1:
        raise BadRequest(400, "expected one Sec-WebSocket-Key")
    try:
        raw = base64.b64decode(keys[0], validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 16:
        raise BadRequest(400, "malformed Sec-WebSocket-Key")
    if head.get(b"sec-websocket-version") != b"13":
        raise BadRequest(426, "unsupported Sec-WebSocket-Version")


def refusal(status: int, reason: str = "") -> bytes:
    """A complete `Connection: close` HTTP response with a short plain-text body."""
    phrase = HTTPStatus(status).phrase
    body = f"{reason or phrase}\n".encode()
    extra = b"Sec-WebSocket-Version: 13\r\n" if status == 426 else b""
    return (
        f"HTTP/1.1 {status} {phrase}\r\n".encode()
        + extra
        + b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def websocket_scope(
    head: Head,
    *,
    server: tuple[str, int] | None,
    client: tuple[str, int] | None,
    root_path: str,
    state: dict[str, object],
    activity: Activity,
    is_tls: bool = False,
) -> dict[str, object]:
    """The ASGI `websocket` scope of an upgrade request (ASGI spec 2.4)."""
    raw_path, _, query = head.target.partition(b"?")
    offered = [
        token.decode("latin-1")
        for name, value in head.headers
        if name == b"sec-websocket-protocol"
        for token in (part.strip() for part in value.split(b","))
        if token
    ]
    path = unquote(raw_path.decode("latin-1"))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss" if is_tls else "ws",
        "server": server,
        "client": client,
        "root_path": root_path,
        "path": root_path + path,
        "raw_path": root_path.encode("latin-1") + raw_path,
        "query_string": query,
        "headers": head.headers,
        "subprotocols": offered,
        "state": state,
        "extensions": {ACTIVITY: activity},
    }


def address(info: object) -> tuple[str, int] | None:
    """An ASGI `(host, port)` from a transport's `sockname`/`peername`."""
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) and len(info) >= 2 else None
