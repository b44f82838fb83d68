"""Issue 9's input-flood probes against a real `pachinko serve`: a decompression bomb and a
100 MB header block, measured by the server's peak RSS (/proc/PID/status VmHWM)."""

from __future__ import annotations

import asyncio
import json
import zlib

from probes import (
    RawClient,
    Served,
    frame,
    memory_kib,
    reset_peak_rss,
    served,
)
from websockets.asyncio.client import connect

__all__ = ["served"]  # the fixture

MAX_MESSAGE_BYTES = 1_048_576  # the probe manifest's
BOMBS = 8  # at once, as the issue probed


async def test_a_decompression_bomb_closes_1009_without_inflating_it(served: Served) -> None:
    deflate = zlib.compressobj(wbits=-15)
    bomb = deflate.compress(b"\0" * 512 * 2**20) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < MAX_MESSAGE_BYTES  # 512 MiB inflated, ~0.5 MB on the wire
    extension = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    clients = [await RawClient.connect(served.port, "/work", extra=extension) for _ in range(BOMBS)]
    try:
        async with connect(served.url + "/work", compression=None) as ws:  # warm up the path
            await ws.send(json.dumps({"type": "echo", "payload": "x" * 100_000}))
            await ws.recv()
        reset_peak_rss(served.pid)
        baseline = memory_kib(served.pid)["VmRSS"]
        for client in clients:
            client.send(frame(0x2, bomb[:-4], rsv=4))
        codes = await asyncio.gather(*(c.close_code(timeout=20) for c in clients))
        peak = memory_kib(served.pid)["VmHWM"]
    finally:
        for client in clients:
            client.close()
    assert codes == [1009] * BOMBS
    print(f"PROBE bomb x{BOMBS}: peak RSS +{peak - baseline} KiB, codes {codes}")
    assert (peak - baseline) * 1024 < 2 * MAX_MESSAGE_BYTES, (baseline, peak)


async def test_a_100_mb_header_block_gets_431_without_buffering_it(served: Served) -> None:
    reset_peak_rss(served.pid)
    baseline = memory_kib(served.pid)["VmRSS"]
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    chunk = b"X-Pad: " + b"a" * 65_000 + b"\r\n"

    async def flood() -> int:
        sent = 0
        writer.write(b"GET /work HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        try:
            while sent < 100 * 2**20:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except ConnectionError:
            pass
        return sent

    sending = asyncio.ensure_future(flood())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.transport.abort()
    grown = memory_kib(served.pid)["VmHWM"] - baseline
    status_line = head.split(b"\r\n")[0]
    print(f"PROBE header: {status_line!r}, peak RSS +{grown} KiB")
    assert head.startswith(b"HTTP/1.1 431 "), head[:80]
    assert grown < 16 * 1024
