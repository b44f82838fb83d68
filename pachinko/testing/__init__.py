"""Testing utilities: a live uvicorn server on loopback (more in later releases)."""

from __future__ import annotations

from pachinko.testing.server import LiveServer

__all__ = ["LiveServer"]
