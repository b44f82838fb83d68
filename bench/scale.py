"""`python -m bench.scale [--quick]`: idle connections at 10,000 and ~20,000, handshakes/s,
broadcast trigger->last at 10,000 members; and the file limit `pachinko serve` raises.

Servers (each in a fresh process, one after the other, order reversed on a second
pass): the floor under uvicorn+wsproto (`floor`), the floor and pachinko under
`pachinko serve`'s protocol (`floor@serve`, `pachinko@serve`). Clients hold at most
5,000 connections per process, spread over source addresses 127.0.0.2-9.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import network

SERVERS = ["floor", "floor@serve", "pachinko@serve"]
PER_CLIENT = 5000
#: The hard descriptor limit here is 20,000: the server needs a few for itself
#: (listening socket, logs, epoll), so "20,000" is measured at 19,800.
STEPS = (10_000, 19_800)
LIMIT = 1.1


def hold(server: network.Server, total: int, label: str) -> tuple[list[network.Child], float]:
    """Open `total` idle connections from several client processes; the handshakes/s."""
    shares = network._split(total, math.ceil(total / PER_CLIENT))
    clients = [
        network.client(f"scale-{label}{i}-{server.name}", "idle", server.url, n, 128)
        for i, n in enumerate(shares)
    ]
    starts, ends = [], []
    for child in clients:
        wrong, start, opened = child.expect("READY", 600)
        if int(wrong):
            raise RuntimeError(f"{server.name}: {wrong} wrong replies on idle connections")
        starts.append(float(start))
        ends.append(float(opened))
    return clients, total / (max(ends) - min(starts))


def one_server(name: str, steps: tuple[int, ...], members: int, rounds: int) -> dict[str, Any]:
    server = network.Server(name)
    held: list[network.Child] = []
    out: dict[str, Any] = {}
    try:
        warm = network.client(f"scale-warm-{name}", "idle", server.url, 50)
        warm.expect("READY", 60)
        warm.finish()
        time.sleep(0.5)
        base, open_count = server.rss(), 0
        for step in steps:
            cpu0 = server.cpu()
            clients, rate = hold(server, step - open_count, f"s{step}-")
            cpu = server.cpu() - cpu0
            held += clients
            time.sleep(1.0)  # NOTE: let the server settle (tasks parked, buffers sized)
            out[step] = {
                "rss_kib_per_conn": (server.rss() - base) / step / 1024,
                "handshakes_per_s": rate,
                "server_cpu_us_per_handshake": cpu / (step - open_count) * 1e6,
            }
            open_count = step
        for child in held:
            child.finish()
        held = []
        time.sleep(1.0)
        out["broadcast"] = network.broadcast(server, members, rounds)
    finally:
        for child in held:
            child.finish()
        server.stop()
    return out


def file_limit_line() -> str:
    """Run `pachinko serve` (the demo manifest) with a soft limit of 1,024: its log line."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pachinko.cli", "serve", "--port", str(port)],
        cwd=network.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)),
    )
    found, lines = "", []
    try:
        deadline = time.monotonic() + 30
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line.strip())
            if "file descriptor limit" in line:
                found = line.strip()
            if "pachinko ready" in line:
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return found or "NOT LOGGED; the log was: " + " / ".join(lines[-5:])


def report(
    runs: list[dict[str, dict[str, Any]]], steps: tuple[int, ...], members: int
) -> tuple[str, list[tuple[bool, str]]]:
    """The table (value and ratio to `floor`), and the RSS verdicts."""

    def med(name: str, *keys: Any) -> float:
        values = []
        for run in runs:
            value: Any = run[name]
            for key in keys:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    head = "| figure | " + " | ".join(SERVERS) + " |"
    lines = [head, "|---" * (len(SERVERS) + 1) + "|"]

    def row(label: str, digits: int, *keys: Any) -> None:
        floor = med("floor", *keys)
        cells = [f"{med(n, *keys):,.{digits}f} ({med(n, *keys) / floor:.2f}x)" for n in SERVERS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for step in steps:
        row(f"RSS KiB per idle connection at {step:,}", 1, step, "rss_kib_per_conn")
    for step in steps:
        row(f"handshakes/s (up to {step:,})", 0, step, "handshakes_per_s")
        row(f"server CPU µs per handshake (up to {step:,})", 0, step, "server_cpu_us_per_handshake")
    row(f"broadcast {members:,}, trigger->last ms", 1, "broadcast", "latency_ms")
    row(
        f"broadcast {members:,}, server CPU µs/recipient",
        2,
        "broadcast",
        "server_cpu_us_per_recipient",
    )
    first = steps[0]
    ours = med("pachinko@serve", first, "rss_kib_per_conn")
    verdicts = []
    for other in ("floor@serve", "floor"):
        ratio = ours / med(other, first, "rss_kib_per_conn")
        word = "PASS" if ratio <= LIMIT else "FAIL"
        verdicts.append(
            (
                ratio <= LIMIT,
                f"{word}: RSS per idle connection at {first:,}: pachinko@serve = {ratio:.2f}x"
                f" {other} (limit {LIMIT}x)",
            )
        )
    return "\n".join(lines), verdicts


def measure(quick: bool, passes: int, log: Any) -> tuple[str, list[tuple[bool, str]], Any]:
    """Every scale figure: the table, the verdicts (RSS, file limit logged), the raw runs."""
    steps, members, rounds = ((1000, 2000), 1000, 2) if quick else (STEPS, 10_000, 3)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = []
    for index in range(passes):
        order = SERVERS if index % 2 == 0 else SERVERS[::-1]
        run = {}
        for name in order:
            log(f"scale: pass {index + 1} of {passes}, {name}")
            run[name] = one_server(name, steps, members, rounds)
        runs.append(run)
    text, verdicts = report(runs, steps, members)
    line = file_limit_line()
    ok = re.search(r"from 1024 to \d+", line) is not None
    word = "PASS" if ok else "FAIL"
    verdicts.append((ok, f"{word}: pachinko serve logs its raised file limit: {line}"))
    title = f"Scale: idle connections, handshakes, broadcast to {members:,} ({passes} pass(es))"
    return f"{title}\n\n{text}", verdicts, runs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 / 2,000 connections")
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    text, verdicts, _ = measure(
        args.quick, args.passes, lambda line: print(line, file=sys.stderr, flush=True)
    )
    print(text)
    print("\n".join(line for _, line in verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
