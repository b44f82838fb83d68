"""`python -m bench.client MODE URL ...`: the load side of the network figures.

A separate process from the server (and from the runner), speaking a line
protocol on stdin/stdout:

- `idle URL N [CONCURRENCY]`: open N connections to /ws (at most CONCURRENCY
  handshakes at once), one request/reply each, print `READY WRONG T_START T_OPENED`
  (the handshakes' window), hold them until stdin closes.
- `e2e URL CONNS COUNT`: CONNS connections to /ws, warm up, print `WARM`;
  on each `go`, each does COUNT request/reply round trips; print `RESULT {json}`;
  close when stdin closes.
- `room URL N`: N members of /room; print `READY`. On `fire SEQ`, send the
  fanout frame from the first connection and print `FIRED SEQ T0`. Whenever all
  N members have received broadcast SEQ, print `GOT SEQ T_LAST`. Times are
  `time.monotonic()`, comparable across processes on one machine.

`MODE+deflate` (e.g. `e2e+deflate`) does the same with clients that offer
permessage-deflate.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import defaultdict
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench import workload

SOURCES = 8  # NOTE: source addresses 127.0.0.2-9: 8 x the ephemeral ports for 20k connections
#: Set by a `MODE+deflate` mode: clients offer permessage-deflate (the compression figures).
DEFLATE = False


async def connect_many(url: str, count: int, concurrency: int = 64) -> list[ClientConnection]:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> ClientConnection:
        async with gate:
            # NOTE: no compression (unless DEFLATE) and no keepalive pings: identical,
            # minimal client frames.
            return await connect(
                url,
                compression="deflate" if DEFLATE else None,
                ping_interval=None,
                open_timeout=120,
                close_timeout=5,
                max_queue=None,
                local_addr=(f"127.0.0.{2 + index % SOURCES}", 0),
            )

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def close_all(conns: list[ClientConnection]) -> None:
    await asyncio.wait_for(asyncio.gather(*(c.close() for c in conns), return_exceptions=True), 30)


async def stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def round_trips(ws: ClientConnection, count: int, offset: int, latencies: list[float]) -> int:
    """`count` request/reply round trips; return how many replies were not the expected bytes."""
    requests, expected = workload.REQUESTS, workload.EXPECTED
    size = len(requests)
    wrong = 0
    clock = time.perf_counter
    for i in range(count):
        j = (i + offset) % size
        start = clock()
        await ws.send(requests[j])
        reply = await ws.recv()
        latencies.append(clock() - start)
        if reply != expected[j]:
            wrong += 1
    return wrong


async def idle(url: str, count: int, concurrency: int = 64) -> None:
    start = time.monotonic()
    conns = await connect_many(url + "/ws", count, concurrency)
    opened = time.monotonic()
    wrong = sum(await asyncio.gather(*(round_trips(c, 1, i, []) for i, c in enumerate(conns))))
    say(f"READY {wrong} {start!r} {opened!r}")
    await stdin_line()
    await close_all(conns)


async def e2e(url: str, conns_count: int, count: int) -> None:
    conns = await connect_many(url + "/ws", conns_count)
    await asyncio.gather(*(round_trips(c, 50, i, []) for i, c in enumerate(conns)))
    say("WARM")
    while (await stdin_line()).strip() == "go":
        latencies: list[float] = []
        start = time.perf_counter()
        runs = (round_trips(c, count, i, latencies) for i, c in enumerate(conns))
        wrong = sum(await asyncio.gather(*runs))
        elapsed = time.perf_counter() - start
        latencies.sort()
        total = len(latencies)
        result = {
            "messages": total,
            "seconds": elapsed,
            "msgs_per_s": total / elapsed,
            "p50_ms": latencies[total // 2] * 1e3,
            "p99_ms": latencies[min(total - 1, int(total * 0.99))] * 1e3,
            "wrong": wrong,
        }
        say("RESULT " + json.dumps(result))
    await close_all(conns)


async def room(url: str, count: int) -> None:
    conns = await connect_many(url + "/room", count)
    counts: dict[int, int] = defaultdict(int)
    expected: dict[int, str] = {}
    wrong = 0

    async def listen(ws: ClientConnection) -> None:
        nonlocal wrong
        clock = time.monotonic
        async for message in ws:
            now = clock()
            seq = workload.decode_news(message).payload.seq
            want = expected.get(seq)
            if want is None:
                want = expected[seq] = workload.news_text(workload.Fanout(seq, f"broadcast {seq}"))
            if message != want:
                wrong += 1
            counts[seq] += 1
            if counts[seq] == count:
                say(f"GOT {seq} {now!r} {wrong}")

    listeners = [asyncio.create_task(listen(ws)) for ws in conns]
    say("READY 0")
    while True:
        line = (await stdin_line()).split()
        if not line:
            break
        seq = int(line[1])
        frame = workload.fanout_request(seq)
        start = time.monotonic()
        await conns[0].send(frame)
        say(f"FIRED {seq} {start!r}")
    await close_all(conns)
    for task in listeners:
        task.cancel()


def main(argv: list[str]) -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    global DEFLATE
    mode, url, *rest = argv
    mode, _, extension = mode.partition("+")
    DEFLATE = extension == "deflate"
    args: list[Any] = [url, *map(int, rest)]
    runner = {"idle": idle, "e2e": e2e, "room": room}[mode]
    asyncio.run(runner(*args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
