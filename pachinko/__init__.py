"""falcon-pachinko: message routing, rooms and workers for Falcon WebSocket apps."""

from __future__ import annotations

from pachinko.build import build
from pachinko.errors import (
    BackendUnavailable,
    Diagnostic,
    ManifestError,
    PachinkoError,
    Reject,
    RoomFull,
    UnknownConnection,
)
from pachinko.manifest import Manifest, load
from pachinko.runtime.app import App, connection_manager, install
from pachinko.runtime.connection import Connection
from pachinko.runtime.dispatch import MessageSpec, Subprotocol
from pachinko.runtime.hooks import HookEvent, Message
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Limits, RoomOptions
from pachinko.runtime.resource import WebSocketResource, handles_message
from pachinko.runtime.router import WebSocketRouter
from pachinko.runtime.workers import WorkerContext, WorkerController, WorkerSpec

__all__ = [
    "App",
    "BackendUnavailable",
    "Connection",
    "Diagnostic",
    "HookEvent",
    "Limits",
    "Manifest",
    "ManifestError",
    "Message",
    "MessageSpec",
    "PachinkoError",
    "Reject",
    "RoomFull",
    "RoomOptions",
    "Subprotocol",
    "UnknownConnection",
    "WebSocketConnectionManager",
    "WebSocketResource",
    "WebSocketRouter",
    "WorkerContext",
    "WorkerController",
    "WorkerSpec",
    "build",
    "connection_manager",
    "handles_message",
    "install",
    "load",
]
