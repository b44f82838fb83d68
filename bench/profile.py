"""`python -m bench.profile`: where pachinko's in-process time goes, next to the floor's.

1. Uninstrumented CPU µs per message (and per broadcast recipient) of the floor
   and pachinko, as in `python -m bench`.
2. cProfile of the same runs: the top functions by own time, with calls per
   message and an estimate of their uninstrumented µs per message (their share of
   the profiled own time times the uninstrumented figure; cProfile inflates
   Python calls, so read the estimates as a ranking with rough sizes).
3. pyinstrument's call tree of pachinko's dispatch (when installed).

Options: `--messages N`, `--members N`, `--top N`, `--no-pyinstrument`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
from typing import Any

from bench import inprocess
from bench.contenders import factory


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a builtin / C function, e.g. <method 'decode' of 'msgspec.json.Decoder'>
    for marker in ("site-packages/", "/work/main/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{filename}:{line}({name})"


def top_table(profiler: cProfile.Profile, units: int, measured_us: float, top: int) -> str:
    """Top functions by own time: calls per unit, profiled µs per unit, share, estimate."""
    stats = pstats.Stats(profiler)
    rows = []
    total = 0.0
    for func, (_cc, ncalls, tottime, _cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        rows.append((tottime, ncalls, func))
    rows.sort(reverse=True)
    lines = [f"  {'own %':>6} {'est µs':>7} {'calls/unit':>10}  function"]
    for tottime, ncalls, func in rows[:top]:
        share = tottime / total if total else 0.0
        estimate = share * measured_us
        lines.append(f"  {share * 100:6.1f} {estimate:7.3f} {ncalls / units:10.2f}  {_label(func)}")
    return "\n".join(lines)


async def dispatch_profiles(messages: int, top: int) -> None:
    names = ("floor", "pachinko")
    medians, _, problems = await inprocess.dispatch(
        {n: factory(n) for n in names}, messages=messages, repeats=9
    )
    if problems:
        raise SystemExit("\n".join(problems))
    print("== in-process dispatch, uninstrumented CPU µs/msg (median of 9)")
    for name in names:
        print(f"  {name:9} {medians[name]:.3f}  ({medians[name] / medians['floor']:.2f}x floor)")
    events = inprocess.message_events(messages)
    for name in names:
        app = factory(name)()
        async with inprocess.lifespan(app) as state:
            await inprocess.serve_once(app, state, events[:2000])  # warm up
            profiler = cProfile.Profile()
            await inprocess.serve_once(app, state, events, profiler)
        print(f"\n== cProfile, {name} dispatch: top {top} by own time (unit = one message)")
        print(top_table(profiler, messages, medians[name], top))


async def broadcast_profiles(members: int, top: int) -> None:
    names = ("floor", "pachinko")
    rounds = 5
    measured = {}
    for name in names:
        samples, _ = await inprocess.broadcast(factory(name), members, rounds)
        measured[name] = statistics.median(samples)
    print(f"\n== in-process broadcast to {members}, uninstrumented CPU µs/recipient")
    for name in names:
        ratio = measured[name] / measured["floor"]
        print(f"  {name:9} {measured[name]:.3f}  ({ratio:.2f}x floor)")
    for name in names:
        profiler = cProfile.Profile()
        await inprocess.broadcast(factory(name), members, rounds, profiler=profiler)
        print(f"\n== cProfile, {name} broadcast: top {top} by own time (unit = one recipient)")
        print(top_table(profiler, members * rounds, measured[name], top))


def pyinstrument_tree(messages: int) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("\n(pyinstrument not installed: pip install pyinstrument)")
        return
    events = inprocess.message_events(messages)

    async def run(profiler: Any) -> None:
        app = factory("pachinko")()
        async with inprocess.lifespan(app) as state:
            await inprocess.serve_once(app, state, events[:2000])
            profiler.start()
            await inprocess.serve_once(app, state, events)
            profiler.stop()

    profiler = Profiler(interval=0.0001, async_mode="disabled")
    asyncio.run(run(profiler))
    print(f"\n== pyinstrument, pachinko dispatch of {messages} messages")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--top", type=int, default=22)
    parser.add_argument("--no-pyinstrument", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(dispatch_profiles(args.messages, args.top))
    asyncio.run(broadcast_profiles(args.members, args.top))
    if not args.no_pyinstrument:
        pyinstrument_tree(args.messages * 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
