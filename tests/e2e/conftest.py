"""Live servers for the end-to-end tests: real uvicorn on 127.0.0.1, real `websockets` clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import pachinko
from pachinko.testing import LiveServer

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def chat() -> Iterator[LiveServer]:
    """The e2e app (rooms, errors, resources), one server per test module."""
    with LiveServer(pachinko.build(APPS / "pachinko.toml")) as server:
        yield server


class Peer:
    """A thin JSON layer over a real `websockets` client connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: object) -> None:
        await self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> Any:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(data) if isinstance(data, str) else data

    async def ask(self, frame: object) -> Any:
        await self.send(frame)
        return await self.recv()

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return the close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@contextlib.asynccontextmanager
async def peer(url: str, **options: Any) -> AsyncIterator[Peer]:
    """`async with peer(url) as p:` — a connected `Peer`, closed on exit."""
    async with connect(url, open_timeout=5, **options) as ws:
        yield Peer(ws)
