"""`python -m bench` (`make bench`): every figure of issue 5, the table, the targets, the JSON.

Also issue 14's figures: every protocol layer end to end (`bench.protocols`) and
the scale figures (`bench.scale`). Options: `--quick` (small sizes, to check the
harness), `--skip-network`, `--skip-scale`, `--contenders floor,pachinko`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import fanwire, inprocess, network, protocols, redis, report, scale, wire
from bench.contenders import NAMES, factory

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    messages: int = 20_000  # per in-process repetition
    repeats: int = 15  # in-process repetitions (median)
    members: tuple[int, ...] = (1000, 5000)  # broadcast room sizes
    rounds: int = 7  # broadcasts per size (median), after one warm-up
    idle: int = 1000  # idle connections for RSS
    conns: int = 50  # end-to-end clients
    count: int = 1000  # round trips per client per run
    runs: int = 8  # end-to-end rounds, every contender once per round (median)
    passes: int = 2  # network passes over every contender (order reversed on the second)


QUICK = Sizes(
    messages=2000, repeats=3, members=(100, 500), rounds=2, idle=100, count=100, runs=1, passes=1
)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, 65536)), hard))


async def in_process(
    names: list[str], sizes: Sizes
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    factories = {name: factory(name) for name in names}
    log("in-process: sanity check (byte-identical replies and broadcasts)")
    problems = await inprocess.check_broadcast(factories)
    log(f"in-process: dispatch, {sizes.repeats} x {sizes.messages} messages per contender")
    per_msg, samples, found = await inprocess.dispatch(
        factories, messages=sizes.messages, repeats=sizes.repeats
    )
    problems += found
    if problems:
        raise SystemExit("contenders disagree:\n" + "\n".join(problems))
    figures = {"inproc_us_per_msg": per_msg}
    raw: dict[str, Any] = {"inproc_us_per_msg": samples}
    rooms = ", ".join(map(str, sizes.members))
    log(f"in-process: broadcast to {rooms} members, {sizes.rounds} rounds")
    medians, bcast = await inprocess.broadcasts(factories, sizes.members, sizes.rounds)
    for size in sizes.members:
        figures[f"inproc_bcast_us_per_recipient_{size}"] = medians[size]
        raw[f"inproc_bcast_us_per_recipient_{size}"] = bcast[size]
    return figures, raw


def layer_variants(names: list[str]) -> list[str]:
    """The protocol-layer variants (`NAME@LAYER`) of the contenders in this run."""
    return [v for v in protocols.VARIANTS if "@" in v and v.partition("@")[0] in names]


def over_network(
    names: list[str], sizes: Sizes, variants: list[str]
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    raise_fd_limit(max(sizes.members) + sizes.idle + 1024)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(sizes.passes):
        order = names if index % 2 == 0 else list(reversed(names))
        log(f"network: pass {index + 1} of {sizes.passes}")
        for name in order:
            runs[name].append(
                network.run_contender(
                    name,
                    idle=sizes.idle,
                    sizes=sizes.members,
                    rounds=sizes.rounds,
                    log=log,
                )
            )
    log(f"network: end to end, {sizes.conns} clients x {sizes.count} round trips, interleaved")
    e2e = network.end_to_end_interleaved(
        names + variants, sizes.conns, sizes.count, sizes.runs, log
    )
    figures: dict[str, dict[str, float]] = {}

    def put(key: str, name: str, values: list[float]) -> None:
        figures.setdefault(key, {})[name] = statistics.median(values)

    for name, passes in runs.items():
        put("rss_kib_per_idle_conn", name, [p["rss_bytes_per_conn"] / 1024 for p in passes])
        e2e_runs = e2e[name]["runs"]
        put("e2e_msgs_per_s", name, [r["msgs_per_s"] for r in e2e_runs])
        put("e2e_p50_ms", name, [r["p50_ms"] for r in e2e_runs])
        put("e2e_p99_ms", name, [r["p99_ms"] for r in e2e_runs])
        put("e2e_server_cpu_us_per_msg", name, [r["server_cpu_us_per_msg"] for r in e2e_runs])
        for size in sizes.members:
            rounds = [p["broadcast"][size] for p in passes]
            put(
                f"net_bcast_latency_ms_{size}",
                name,
                [x for r in rounds for x in r["samples_latency_ms"]],
            )
            put(
                f"net_bcast_cpu_us_per_recipient_{size}",
                name,
                [x for r in rounds for x in r["samples_cpu_us"]],
            )
    return figures, {"network": runs, "end_to_end": e2e}


def meta(sizes: Sizes, seconds: float) -> dict[str, Any]:
    packages = {}
    for dist in (
        "falcon",
        "litestar",
        "msgspec",
        "uvicorn",
        "wsproto",
        "websockets",
        "uvloop",
        "falcon-pachinko",
    ):
        try:
            packages[dist] = version(dist)
        except Exception:
            packages[dist] = None
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": __import__("os").cpu_count(),
        "packages": packages,
        "sizes": sizes.__dict__ | {"members": list(sizes.members)},
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--skip-network", action="store_true", help="in-process figures only")
    parser.add_argument("--skip-scale", action="store_true", help="no 10,000/20,000 figures")
    parser.add_argument("--contenders", default=",".join(NAMES), help="comma-separated subset")
    args = parser.parse_args(argv)
    names = [n for n in args.contenders.split(",") if n]
    if "floor" not in names:
        names.insert(0, "floor")  # NOTE: every ratio is against the floor of the same run.
    sizes = QUICK if args.quick else Sizes()
    started = time.monotonic()

    figures, raw = asyncio.run(in_process(names, sizes))
    sections: list[str] = []
    verdicts: list[tuple[bool, str]] = []
    log("in-process: fan-out through pachinko serve's protocol, pachinko.wire vs ASGI send")
    raw["wire"] = asyncio.run(wire.measure(sizes.repeats))
    sections += ["Fan-out under pachinko serve, in process:", *wire.table(raw["wire"]), ""]
    if not args.skip_network:
        variants = layer_variants(names)
        net_figures, net_raw = over_network(names, sizes, variants)
        figures.update(net_figures)
        raw.update(net_raw)
        e2e = {v: net_raw["end_to_end"][v] for v in dict.fromkeys(["floor", *names, *variants])}
        sections += ["Protocol layers, end to end (this run):", *protocols.table(e2e), ""]
        if "pachinko@serve" in e2e:
            verdicts.append(protocols.verdict(e2e))
        if "pachinko" in names:
            raw["fanwire"] = fanwire.measure(sizes.members, sizes.rounds, sizes.passes, log)
            rows, found = fanwire.table(raw["fanwire"], sizes.members)
            title = "Network broadcast, server CPU µs per recipient, by protocol layer (this run):"
            sections += [title, *rows, ""]
            verdicts += found
    if not args.skip_network and not args.skip_scale:
        text, found, raw["scale"] = scale.measure(args.quick, 1, log)
        sections += [text, ""]
        verdicts += found
    redis_figures, redis_note = redis.measure(log)
    targets = report.targets(figures, sizes.members)
    seconds = time.monotonic() - started

    text = "\n".join(
        [
            report.table(figures, names, sizes.members),
            "",
            f"redis: {redis_note}",
            "",
            *sections,
            "Targets (ratios within this run):",
            report.target_lines(targets),
            *(f"- {line}" for _, line in verdicts),
        ]
    )
    print(text)
    info = meta(sizes, seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": info,
        "figures": figures,
        "targets": targets,
        "issue14": [{"passed": ok, "line": line} for ok, line in verdicts],
        "redis": redis_figures or redis_note,
        "raw": raw,
    }
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    header = (
        f"Produced by `make bench` on {info['when']} ({info['machine']}, {info['cpus']} CPUs, "
        f"Python {info['python']}), {seconds:.0f} s.\n\n"
    )
    (RESULTS / "latest.md").write_text(header + text + "\n")
    log(f"done in {seconds:.0f} s; wrote {RESULTS / 'latest.json'} and latest.md")
    return 0  # NOTE: a benchmark reports; a FAIL is a finding, not a harness error.
