"""Network figures: each contender in its own uvicorn subprocess, load from client subprocesses.

Server CPU is the server process's user+system time (psutil) over the measured
window only, so client CPU never counts; RSS is the server's resident set.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "bench" / "results" / "logs"
PER_PROCESS = 1250  # room members per client process


class Child:
    """A subprocess speaking a line protocol; stderr goes to a log file."""

    def __init__(self, label: str, args: list[str]) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.label = label
        self._log: IO[bytes] = (LOGS / f"{label}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            start_new_session=True,  # NOTE: its own process group, killed whole (granian forks)
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, word: str, timeout: float) -> list[str]:
        """Wait for the next line starting with `word`; return its other fields."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise TimeoutError(
                    f"{self.label}: no {word!r} within {timeout}s (see {LOGS})"
                ) from None
            if line is None:
                raise RuntimeError(
                    f"{self.label} exited ({self.proc.wait()}) before {word!r}; see {LOGS}"
                )
            head, *rest = line.split(" ", 1)
            if head == word:
                return rest[0].split(" ") if rest else []

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> None:
        """Close stdin (the child's cue to close its connections and exit) and wait."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.kill_group()
            self.proc.wait()
        self.kill_group()
        self._log.close()

    def kill_group(self) -> None:
        """SIGKILL the child's whole process group (a no-op once it is gone)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a server's graceful shutdown), then SIGKILL."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            self.proc.wait()
        self.kill_group()  # NOTE: whatever it forked and left behind
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self._log.close()


class Server:
    """One contender's uvicorn process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.child = Child(f"server-{name}", ["-m", "bench.serve", name])
        port = self.child.expect("PORT", 60)[0]
        self.url = f"ws://127.0.0.1:{port}"
        self.process = psutil.Process(self.child.proc.pid)
        # NOTE: the whole tree: granian serves from a child process.
        self.tree = [self.process, *self.process.children(recursive=True)]

    def cpu(self) -> float:
        """Seconds on CPU, all threads of the tree: schedstat's ns, else psutil's ticks."""
        total = 0.0
        for proc in self.tree:
            try:
                total += (
                    sum(
                        int(stat.read_text().split()[0])
                        for stat in Path(f"/proc/{proc.pid}/task").glob("*/schedstat")
                    )
                    / 1e9
                )
            except (OSError, ValueError, IndexError):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> int:
        """Resident bytes of the tree (granian's supervisor and worker)."""
        return sum(proc.memory_info().rss for proc in self.tree)

    def stop(self) -> None:
        self.child.stop()


def client(label: str, *args: object) -> Child:
    return Child(label, ["-m", "bench.client", *map(str, args)])


def memory(server: Server, idle: int) -> float:
    """Server RSS bytes per idle connection: (RSS with `idle` open - RSS before) / idle."""
    warm = client(f"idle-warm-{server.name}", "idle", server.url, 50)
    warm.expect("READY", 60)
    warm.finish()
    time.sleep(0.5)
    before = server.rss()
    held = client(f"idle-{server.name}", "idle", server.url, idle)
    wrong = int(held.expect("READY", 180)[0])
    time.sleep(1.0)  # let the server settle (tasks parked, buffers sized)
    after = server.rss()
    held.finish()
    if wrong:
        raise RuntimeError(f"{server.name}: {wrong} wrong replies while opening idle connections")
    return (after - before) / idle


def broadcast(server: Server, members: int, rounds: int) -> dict[str, Any]:
    """Broadcast to `members` real clients.

    Figures: trigger-to-last-recipient time, and server CPU per recipient.
    """
    shares = _split(members, math.ceil(members / PER_PROCESS))
    mode = _mode("room", server.name)
    rooms = [client(f"room{i}-{server.name}", mode, server.url, n) for i, n in enumerate(shares)]
    try:
        for r in rooms:
            r.expect("READY", 300)
        latencies, cpus = [], []
        for seq in range(rounds + 1):  # round 0 warms up
            time.sleep(0.2)  # let the previous round's client work drain
            cpu0 = server.cpu()
            rooms[0].tell(f"fire {seq}")
            fired = float(rooms[0].expect("FIRED", 60)[1])
            last = 0.0
            for r in rooms:
                got = r.expect("GOT", 120)
                if int(got[0]) != seq or int(got[2]):
                    raise RuntimeError(f"{server.name}: broadcast {seq} arrived wrong: {got}")
                last = max(last, float(got[1]))
            cpu1 = server.cpu()
            if seq:
                latencies.append((last - fired) * 1e3)
                cpus.append((cpu1 - cpu0) / members * 1e6)
    finally:
        for r in rooms:
            r.finish()
    return {
        "latency_ms": statistics.median(latencies),
        "server_cpu_us_per_recipient": statistics.median(cpus),
        "samples_latency_ms": latencies,
        "samples_cpu_us": cpus,
    }


def end_to_end_interleaved(
    names: list[str], conns: int, count: int, rounds: int, log: Any
) -> dict[str, dict[str, Any]]:
    """Request/reply for every contender at once, round by round in rotating order.

    All servers and their warmed-up clients stay up; each round runs every
    contender once, so machine drift (the server and clients share the cores)
    falls on all of them alike. Figures are medians over rounds.
    """
    servers: dict[str, Server] = {}
    loads: dict[str, Child] = {}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    try:
        for name in names:
            servers[name] = Server(name)
            load = _mode("e2e", name)
            loads[name] = client(f"e2e-{name}", load, servers[name].url, conns, count)
            loads[name].expect("WARM", 120)
        for index in range(rounds):
            shift = index % len(names)
            log(f"  end to end: round {index + 1} of {rounds}")
            for name in names[shift:] + names[:shift]:
                cpu0 = servers[name].cpu()
                loads[name].tell("go")
                run = json.loads(" ".join(loads[name].expect("RESULT", 600)))
                cpu1 = servers[name].cpu()
                if run["wrong"]:
                    raise RuntimeError(f"{name}: {run['wrong']} wrong replies end to end")
                run["server_cpu_us_per_msg"] = (cpu1 - cpu0) / run["messages"] * 1e6
                runs[name].append(run)
    finally:
        for load in loads.values():
            load.finish()
        for server in servers.values():
            server.stop()
    keys = ("msgs_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_msg")
    return {
        name: {
            **{key: statistics.median(run[key] for run in found) for key in keys},
            "messages": sum(run["messages"] for run in found),
            "runs": found,
        }
        for name, found in runs.items()
    }


def _mode(mode: str, server: str) -> str:
    """The client mode for a server: clients offer deflate to a `+deflate` server."""
    return f"{mode}+deflate" if server.endswith("+deflate") else mode


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def run_contender(
    name: str,
    *,
    idle: int,
    sizes: tuple[int, ...],
    rounds: int,
    log: Any,
) -> dict[str, Any]:
    """Memory and broadcast figures of one contender, in one fresh server process.

    End to end is measured for all contenders together (`end_to_end_interleaved`).
    """
    server = Server(name)
    out: dict[str, Any] = {}
    try:
        log(f"  {name}: memory ({idle} idle connections)")
        out["rss_bytes_per_conn"] = memory(server, idle)
        out["broadcast"] = {}
        for size in sizes:
            log(f"  {name}: broadcast to {size} members")
            out["broadcast"][size] = broadcast(server, size, rounds)
    finally:
        server.stop()
    return out
