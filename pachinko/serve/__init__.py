"""The protocol layer `pachinko serve` owns: HTTP/1.1 heads and WebSocket connections."""

from __future__ import annotations

from pachinko.runtime.options import WIRE
from pachinko.serve.protocol import PachinkoProtocol
from pachinko.serve.settings import Registry, ServeSettings, connection_cap, raise_file_limit
from pachinko.serve.wire import Wire, message_frame

__all__ = [
    "WIRE",
    "PachinkoProtocol",
    "Registry",
    "ServeSettings",
    "Wire",
    "connection_cap",
    "message_frame",
    "raise_file_limit",
]
