"""`python -m bench.protocols [CONNS COUNT ROUNDS]`: e2e server CPU per message per protocol layer.

The floor app and pachinko under each protocol layer of `bench.serve`
(uvicorn+wsproto, uvicorn+websockets-sansio, granian, `pachinko serve`'s own:
`NAME@LAYER`), plus `pachinko-all` (everything on) under `pachinko serve`, all
measured round by round in rotating order (`network.end_to_end_interleaved`).
Ratios are against the floor under uvicorn+wsproto of the same run, and against
the floor under the same layer. Target (issue 14): pachinko@serve <= 0.75x.
"""

from __future__ import annotations

import sys
from typing import Any

from bench import network

VARIANTS = [
    "floor",
    "floor@sansio",
    "floor@granian",
    "floor@serve",
    "pachinko",
    "pachinko@sansio",
    "pachinko@granian",
    "pachinko@serve",
    "pachinko-all@serve",
]
TARGET = 0.75


def measure(
    conns: int, count: int, rounds: int, log: Any, variants: list[str] = VARIANTS
) -> dict[str, dict[str, Any]]:
    """Every variant's e2e figures (medians over interleaved rounds)."""
    return network.end_to_end_interleaved(variants, conns, count, rounds, log)


def table(figures: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows: server CPU µs/msg and msgs/s with their ratios, then the verdict."""
    floor = figures["floor"]["server_cpu_us_per_msg"]
    floor_rate = figures["floor"]["msgs_per_s"]
    lines = [
        "| server | CPU µs/msg | x wsproto floor | x floor, same layer"
        " | msgs/s | x floor | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in figures.items():
        cpu = row["server_cpu_us_per_msg"]
        layer = name.partition("@")[2]
        same = figures.get(f"floor@{layer}" if layer else "floor", row)["server_cpu_us_per_msg"]
        lines.append(
            f"| {name} | {cpu:.1f} | {cpu / floor:.2f}x | {cpu / same:.2f}x"
            f" | {row['msgs_per_s']:,.0f} | {row['msgs_per_s'] / floor_rate:.2f}x"
            f" | {row['p99_ms']:.2f} |"
        )
    return lines


def verdict(figures: dict[str, dict[str, Any]]) -> tuple[bool, str]:
    ratio = (
        figures["pachinko@serve"]["server_cpu_us_per_msg"]
        / (figures["floor"]["server_cpu_us_per_msg"])
    )
    passed = ratio <= TARGET
    word = "PASS" if passed else "FAIL"
    return passed, (
        f"{word}: pachinko serve e2e server CPU/msg = {ratio:.2f}x uvicorn+wsproto floor"
        f" (limit {TARGET}x)"
    )


def main(argv: list[str]) -> int:
    conns = int(argv[0]) if argv else 50
    count = int(argv[1]) if len(argv) > 1 else 400
    rounds = int(argv[2]) if len(argv) > 2 else 5
    figures = measure(conns, count, rounds, lambda line: print(line, file=sys.stderr))
    print(f"{conns} clients x {count} round trips, {rounds} rounds (medians)")
    print("\n".join(table(figures)))
    print(verdict(figures)[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
