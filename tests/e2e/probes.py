"""What the abuse probes share: a `pachinko serve` process to attack, and a raw client."""

from __future__ import annotations

import asyncio
import base64
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

BIN = Path(sys.executable).parent
#: The probes' app: compression on, send_timeout 1 s, handshake_timeout 2 s, 1 MiB messages.
MANIFEST = Path(__file__).parent / "apps" / "abuse" / "pachinko.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_file_limit(wanted: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE to at least `wanted` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


class Served:
    """`pachinko serve -m MANIFEST` on a free loopback port, in its own process group.

    `lines` collects its log; `wait_for(text)` blocks until a line contains `text`.
    `files` starts it with that (soft, hard) RLIMIT_NOFILE.
    The whole group is killed on exit if it is still running.
    """

    def __init__(self, manifest: Path, *extra: str, files: tuple[int, int] | None = None) -> None:
        self.port = free_port()
        self.lines: list[str] = []
        self._changed = threading.Condition()
        command = [BIN / "pachinko", "serve", "-m", manifest, "--port", str(self.port), *extra]
        self.process = subprocess.Popen(
            command,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            preexec_fn=(
                None if files is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, files)
            ),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<exited>")
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The first log line containing `text`; AssertionError if none comes in time."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or "<exited>" in self.lines,
                timeout,
            )
            match = next((line for line in self.lines if text in line), None)
        if not found or match is None:
            raise AssertionError(f"no {text!r} in the server log:\n{''.join(self.lines)}")
        return match

    def __enter__(self) -> Served:
        self.wait_for("pachinko ready in process")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def served() -> Iterator[Served]:
    """The probe manifest served; this test process may hold 6,000 sockets."""
    raise_file_limit(6000)
    with Served(MANIFEST) as server:
        yield server


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> bytes:
    """A masked client frame; `rsv` is the three reserved bits (0-7)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if size < 4096 else None
    if masked is None:
        whole = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(whole, "big")).to_bytes(
            size, "big"
        )
    return head + mask + masked


def upgrade_request(path: str = "/", *, key: str | None = None, extra: str = "") -> bytes:
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


class RawClient:
    """A WebSocket client that writes any bytes it likes and reads frames as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0

    @classmethod
    async def connect(cls, port: int, path: str = "/", *, extra: str = "") -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        writer.write(upgrade_request(path, extra=extra))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        client.status = int(head.split(b" ", 2)[1])
        return client

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def read_frame(self, timeout: float = 5.0) -> tuple[bool, int, bytes]:
        """The next frame as (fin, opcode, payload); EOFError when the server closed TCP."""
        async with asyncio.timeout(timeout):
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(size)
        return bool(first & 0x80), first & 0x0F, payload

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Read until a close frame: its code (None when TCP ended without one)."""
        try:
            while True:
                _, opcode, payload = await self.read_frame(timeout)
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def is_closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server ends TCP (after any frames)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.writer.transport.abort()
