"""`python -m bench.protocols`: e2e server CPU per message, per protocol layer, one run.

The floor app and pachinko, each under uvicorn+wsproto and under `pachinko serve`'s
own protocol (`NAME@serve`), measured round by round in rotating order
(`network.end_to_end_interleaved`); ratios are against the floor under
uvicorn+wsproto of the same run. Target (issue 14): pachinko@serve <= 0.75x.
"""

from __future__ import annotations

import sys

from bench import network

VARIANTS = ["floor", "floor@serve", "pachinko", "pachinko@serve"]


def main(argv: list[str]) -> int:
    conns = int(argv[0]) if argv else 50
    count = int(argv[1]) if len(argv) > 1 else 400
    rounds = int(argv[2]) if len(argv) > 2 else 5
    figures = network.end_to_end_interleaved(
        VARIANTS, conns, count, rounds, lambda line: print(line, file=sys.stderr)
    )
    floor = figures["floor"]["server_cpu_us_per_msg"]
    print(f"{conns} clients x {count} round trips, {rounds} rounds (medians)")
    print(f"{'server':<16} {'cpu us/msg':>10} {'x floor':>8} {'msgs/s':>9} {'p99 ms':>8}")
    for name in VARIANTS:
        row = figures[name]
        cpu = row["server_cpu_us_per_msg"]
        print(
            f"{name:<16} {cpu:>10.1f} {cpu / floor:>7.2f}x {row['msgs_per_s']:>9.0f}"
            f" {row['p99_ms']:>8.2f}"
        )
    ratio = figures["pachinko@serve"]["server_cpu_us_per_msg"] / floor
    print(f"{'PASS' if ratio <= 0.75 else 'FAIL'}: pachinko@serve {ratio:.2f}x floor (<= 0.75x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
