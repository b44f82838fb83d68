"""Real `pachinko serve` processes sharing one Redis, and real `websockets` clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from redis_harness import free_port
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

APP = Path(__file__).parent / "app"
MESSAGES = ("join", "leave", "say", "whoami", "dm", "login", "to_user", "members")

MANIFEST = """version = 1
[app]
name = "cluster"
[limits]
rate = "off"
[backend]
use = "redis"
url = "{url}"
prefix = "{prefix}"
presence_ttl = "{presence_ttl}"
op_timeout = "1s"
connect_timeout = "1s"
recovery = {recovery}
[[rooms]]
name = "chat:{{room}}"
presence = true
history = 20
[[rooms]]
name = "capped"
max_members = 10
[[rooms]]
name = "busy:{{room}}"
history = 20
"""
MESSAGE = '[routes.messages.{0}]\nhandler = "cluster_app:{0}"\n'
ROUTES = (("/chat/{room}", 'join = ["chat:{room}"]\n'), ("/ws", ""))


def write_app(folder: Path, url: str, prefix: str, **options: object) -> Path:
    """The test app's manifest and handlers in `folder`; returns the manifest path."""
    settings = {"presence_ttl": "1500ms", "recovery": 64, **options}
    shutil.copy(APP / "cluster_app.py", folder / "cluster_app.py")
    text = MANIFEST.format(url=url, prefix=prefix, **settings)
    messages = "".join(map(MESSAGE.format, MESSAGES))
    for path, join in ROUTES:
        text += f'[[routes]]\npath = "{path}"\n{join}{messages}'
    manifest = folder / "pachinko.toml"
    manifest.write_text(text)
    return manifest


class Serve:
    """One `pachinko serve` process on a free loopback port; stopped by its process group."""

    def __init__(self, manifest: Path, *options: str, processes: int = 1) -> None:
        self.manifest = manifest
        self.processes = processes  # how many "ready" lines to wait for (--workers N)
        self.port = free_port()
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.readies = 0
        command = Path(sys.executable).parent / "pachinko"
        self.process = subprocess.Popen(
            [str(command), "serve", "-m", str(manifest), "--port", str(self.port), *options],
            cwd=manifest.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if "pachinko ready" in line:
                self.readies += 1
                if self.readies >= self.processes:
                    self.ready.set()
        self.ready.set()  # NOTE: it exited: wake the waiter, which checks

    def wait_ready(self, timeout: float = 20.0) -> Serve:
        if not self.ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("pachinko serve did not start:\n" + "".join(self.lines))
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no leave, no deregistration; only the lease runs out."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def start_cluster(manifest: Path, count: int) -> list[Serve]:
    servers = [Serve(manifest) for _ in range(count)]
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


class Client:
    """A websockets client that records every frame it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._ids = 0
        self._task = asyncio.get_running_loop().create_task(self._read())
        self.close_code: int | None = None
        self.id = ""

    @classmethod
    async def open(cls, url: str) -> Client:
        """Connect, then make one round trip: the route's joins at connect are done."""
        client = cls(await asyncio.wait_for(connect(url, open_timeout=5), 10))
        client.id = (await client.call("whoami"))["payload"]
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass  # NOTE: the server went away (a SIGKILL test): `close_code` says how
        finally:
            self.close_code = self.ws.close_code
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, done: Any, timeout: float = 10.0) -> None:
        """Wait until `done()` holds, re-checked on every frame; fail after `timeout`."""
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(done), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"not within {timeout}s; frames: {self.frames[-5:]}") from None

    async def call(self, type_: str, payload: object = None, timeout: float = 10.0) -> Any:
        """Send a message with a fresh id; return the frame that answers it."""
        self._ids += 1
        id_ = self._ids
        await self.ws.send(json.dumps({"type": type_, "payload": payload, "id": id_}))
        await self.wait(lambda: any(f.get("id") == id_ for f in self.frames), timeout)
        return next(f for f in self.frames if f.get("id") == id_)

    def of(self, type_: str) -> list[Any]:
        return [f["payload"] for f in self.frames if f["type"] == type_ and "id" not in f]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
