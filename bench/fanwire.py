"""`python -m bench.fanwire [ROUNDS]`: network broadcast under `pachinko serve`, against the
wsproto floor, and the kernel's own cost of one send per member.

Under `pachinko serve` a broadcast's frame is built once and the same bytes are
written to every member (`pachinko.wire`), so what is left per recipient is one
`send` on its socket. `kernel` measures just that: this process holds N
loopback TCP peers (read by another process, as the clients read) and sends
the same frame to each, `time.process_time()` per send. No server can go below
it while it writes one frame per member, so it is printed beside the target.

Servers (fresh process each, order reversed on the second pass): `floor`
(uvicorn+wsproto), `floor@serve`, `pachinko@serve`. Target (issue 14):
pachinko@serve <= 0.5x the floor's server CPU per recipient.
"""

from __future__ import annotations

import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import network, workload
from pachinko.serve.wire import message_frame

SERVERS = ["floor", "floor@serve", "pachinko@serve"]
TARGET = 0.5


def kernel(members: int, rounds: int) -> list[float]:
    """CPU µs per `send` of the broadcast frame to `members` loopback peers, per round."""
    frame = message_frame(workload.news_text(workload.Fanout(1, "broadcast 1")))
    listener = socket.create_server(("127.0.0.1", 0), backlog=members)
    port = listener.getsockname()[1]
    readers = subprocess.Popen(
        [sys.executable, "-m", "bench.fanwire", "read", str(port), str(members)]
    )
    peers = [listener.accept()[0] for _ in range(members)]
    listener.close()
    samples = []
    try:
        for peer in peers:
            peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for seq in range(rounds + 1):  # round 0 warms up
            time.sleep(0.2)  # NOTE: let the readers drain the previous round
            start = time.process_time()
            for peer in peers:
                peer.send(frame)
            if seq:
                samples.append((time.process_time() - start) / members * 1e6)
    finally:
        for peer in peers:
            peer.close()
        readers.wait(60)
    return samples


def read_all(port: int, members: int) -> None:
    """The readers' process: connect `members` sockets, read until every one is closed."""
    raise_file_limit()
    selector = selectors.DefaultSelector()
    for _ in range(members):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    open_count = members
    while open_count:
        for key, _ in selector.select(30):
            sock = key.fileobj
            try:
                data = sock.recv(65536)  # type: ignore[union-attr]
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                sock.close()  # type: ignore[union-attr]
                open_count -= 1


def raise_file_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def measure(sizes: tuple[int, ...], rounds: int, passes: int, log: Any) -> dict[str, Any]:
    """Samples of server CPU µs per recipient, by server and size, plus the kernel's."""
    raise_file_limit()
    out: dict[str, Any] = {name: {size: [] for size in sizes} for name in [*SERVERS, "kernel"]}
    for index in range(passes):
        for name in SERVERS if index % 2 == 0 else SERVERS[::-1]:
            log(f"fanwire: pass {index + 1} of {passes}, {name}")
            server = network.Server(name)
            try:
                for size in sizes:
                    got = network.broadcast(server, size, rounds)
                    out[name][size] += got["samples_cpu_us"]
            finally:
                server.stop()
        for size in sizes:
            out["kernel"][size] += kernel(size, rounds)
    return out


def table(
    samples: dict[str, Any], sizes: tuple[int, ...]
) -> tuple[list[str], list[tuple[bool, str]]]:
    """Markdown rows (median and ratio to the floor) and the verdict per size."""
    lines = [
        "| members | " + " | ".join([*SERVERS, "one send() per member"]) + " |",
        "|---|" + "---|" * (len(SERVERS) + 1),
    ]
    verdicts = []
    for size in sizes:
        floor = statistics.median(samples["floor"][size])
        cells = []
        for name in [*SERVERS, "kernel"]:
            value = statistics.median(samples[name][size])
            cells.append(f"{value:.2f} ({value / floor:.2f}x)")
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
        ours = statistics.median(samples["pachinko@serve"][size]) / floor
        bound = statistics.median(samples["kernel"][size]) / floor
        word = "PASS" if ours <= TARGET else "FAIL"
        verdicts.append(
            (
                ours <= TARGET,
                f"{word}: network broadcast {size:,}, server CPU/recipient: pachinko@serve ="
                f" {ours:.2f}x floor (limit {TARGET}x; one send() per member alone: {bound:.2f}x)",
            )
        )
    return lines, verdicts


def main(argv: list[str]) -> int:
    if argv[:1] == ["read"]:
        read_all(int(argv[1]), int(argv[2]))
        return 0
    rounds = int(argv[0]) if argv else 7
    sizes = (1000, 5000)
    samples = measure(sizes, rounds, 2, lambda line: print(line, file=sys.stderr, flush=True))
    lines, verdicts = table(samples, sizes)
    print("\n".join(lines))
    print("\n".join(line for _, line in verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
