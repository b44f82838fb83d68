"""`pachinko serve` as a subprocess in its own process group, its log read as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

BIN = Path(sys.executable).parent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Log:
    """The lines a process writes to stderr, read by a thread; `wait_for` blocks on the next."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, matches: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Read lines until one matches; raise when the process ends or `timeout` passes."""
        for line in self.lines:
            if matches(line):
                return line
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("no such log line:\n" + "".join(self.lines)) from None
            if line is None:
                raise AssertionError("server exited:\n" + "".join(self.lines))
            self.lines.append(line)
            if matches(line):
                return line

    def drain(self) -> list[str]:
        """Take every line read so far."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return self.lines
            if line is not None:
                self.lines.append(line)


class Served:
    """A running `pachinko serve`: its process, port and log."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: Log) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve(manifest: Path, *options: str) -> Iterator[Served]:
    """Run `pachinko serve` on a free port until it is ready; kill its process group on exit."""
    port = free_port()
    command = [BIN / "pachinko", "serve", "-m", manifest, "--port", str(port), *options]
    with subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # NOTE: its own group, so worker processes go with it
    ) as process:
        try:
            log = Log(process.stderr)
            log.wait_for(lambda line: "pachinko ready in process" in line)
            yield Served(process, port, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def get(port: int, path: str) -> tuple[int, bytes]:
    """GET `path` over a fresh connection: (status, body), 4xx/5xx included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def aget(port: int, path: str) -> tuple[int, bytes]:
    """`get` without blocking the event loop."""
    return await asyncio.to_thread(get, port, path)


def parse(text: str) -> Samples:
    """Prometheus text exposition -> {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(port: int, path: str = "/metrics") -> Samples:
    status, body = await aget(port, path)
    assert status == 200, body
    return parse(body.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
