"""Testing kit: an in-process simulator, a real test client, a live server, a pytest plugin."""

from __future__ import annotations

from pachinko.testing.client import (
    BaseClient,
    Frame,
    HandshakeRejected,
    InsecureURL,
    ReceiveTimeout,
    WebSocketClosed,
    WebSocketTestClient,
)
from pachinko.testing.server import LiveServer
from pachinko.testing.simulator import (
    ClientDisconnected,
    LifespanFailed,
    SimulatedConnection,
    WebSocketSimulator,
)

__all__ = [
    "BaseClient",
    "ClientDisconnected",
    "Frame",
    "HandshakeRejected",
    "InsecureURL",
    "LifespanFailed",
    "LiveServer",
    "ReceiveTimeout",
    "SimulatedConnection",
    "WebSocketClosed",
    "WebSocketSimulator",
    "WebSocketTestClient",
]
