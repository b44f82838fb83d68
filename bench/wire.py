"""`python -m bench.wire [ROUNDS]`: fan-out cost per recipient, `pachinko.wire` vs ASGI send.

In process, no sockets: N real `PachinkoProtocol` connections (handshake
included) on transports that only count the bytes written, all served by one
hand-written ASGI app that keeps each member's `send` and its `pachinko.wire`
extension. One broadcast of the bench's `news` frame (~60 bytes):

- `asgi`: `await send({"type": "websocket.send", "text": text})` per member
  (what the floor app does): the sans-I/O core frames the text for each;
- `wire`: `message_frame(text)` once, then `wire.write(frame)` per member.

CPU (`time.process_time`) per recipient, the median of ROUNDS broadcasts per
path and size, the two paths interleaved. The socket write itself (a `send`
system call per member on a real transport) is left out on both sides.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import time
from typing import Any

from uvicorn.server import ServerState

from bench.workload import Fanout, news_text
from pachinko.runtime.options import Limits
from pachinko.serve import WIRE, PachinkoProtocol, message_frame
from pachinko.server import make_config

SIZES = (1000, 5000)


class Sink(asyncio.Transport):
    """A transport that counts what is written and never pauses."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.2", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


def upgrade() -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "GET /room HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def connect(count: int) -> tuple[list[Any], list[Any], list[PachinkoProtocol], list[Sink]]:
    """`count` open connections; their ASGI `send`s and wires, in the order they joined."""
    sends: list[Any] = []
    wires: list[Any] = []
    ready = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        sends.append(send)
        wires.append(scope["extensions"][WIRE])
        if len(wires) == count:
            ready.set()
        await receive()  # NOTE: parked until the disconnect

    config = make_config(app, Limits(rate_count=0), log_config=None, log_level="warning")
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    protocols, sinks = [], []
    for _ in range(count):
        protocol = PachinkoProtocol(config, state, {}, loop)
        sink = Sink()
        protocol.connection_made(sink)
        protocol.data_received(upgrade())
        protocols.append(protocol)
        sinks.append(sink)
    await asyncio.wait_for(ready.wait(), 60)
    return sends, wires, protocols, sinks


async def measure(rounds: int) -> dict[int, dict[str, float]]:
    text = news_text(Fanout(1, "broadcast 1"))
    out: dict[int, dict[str, float]] = {}
    for size in SIZES:
        sends, wires, protocols, sinks = await connect(size)
        event = {"type": "websocket.send", "text": text}
        samples: dict[str, list[float]] = {"asgi": [], "wire": []}
        for index in range(rounds + 1):  # round 0 warms up
            for path in ("asgi", "wire") if index % 2 else ("wire", "asgi"):
                start = time.process_time()
                if path == "asgi":
                    for send in sends:
                        await send(event)
                else:
                    frame = message_frame(text)
                    for wire in wires:
                        wire.write(frame)
                cpu = time.process_time() - start
                if index:
                    samples[path].append(cpu / size * 1e6)
        for protocol in protocols:
            protocol.connection_lost(None)
        assert len({sink.written for sink in sinks}) == 1  # every member got every frame
        out[size] = {path: statistics.median(values) for path, values in samples.items()}
        await asyncio.sleep(0.05)  # NOTE: the apps see their disconnects and end
    return out


def table(figures: dict[int, dict[str, float]]) -> list[str]:
    lines = [
        "| members | ASGI send µs/recipient | wire µs/recipient | wire / ASGI |",
        "|---|---|---|---|",
    ]
    for size, row in figures.items():
        ratio = row["wire"] / row["asgi"]
        lines.append(f"| {size:,} | {row['asgi']:.3f} | {row['wire']:.3f} | {ratio:.2f}x |")
    return lines


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 15
    figures = asyncio.run(measure(rounds))
    print(f"in-process fan-out through PachinkoProtocol, {rounds} rounds (medians)")
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
