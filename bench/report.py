"""The results table: every figure per contender with its ratio to the floor, and the targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FLOOR = "floor"


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    digits: int = 2


def figures_for(members: tuple[int, ...]) -> list[Figure]:
    """The table's rows, for the broadcast room sizes of this run."""
    rows = [Figure("inproc_us_per_msg", "in-process dispatch, CPU µs/msg")]
    rows += [
        Figure(
            f"inproc_bcast_us_per_recipient_{n}", f"in-process broadcast {n}, CPU µs/recipient", 3
        )
        for n in members
    ]
    rows += [
        Figure("e2e_msgs_per_s", "end-to-end msgs/s (higher is better)", 0),
        Figure("e2e_p50_ms", "end-to-end p50 latency, ms"),
        Figure("e2e_p99_ms", "end-to-end p99 latency, ms"),
        Figure("e2e_server_cpu_us_per_msg", "end-to-end server CPU µs/msg", 1),
    ]
    for n in members:
        rows.append(
            Figure(f"net_bcast_latency_ms_{n}", f"network broadcast {n}, trigger->last ms", 1)
        )
        rows.append(
            Figure(
                f"net_bcast_cpu_us_per_recipient_{n}",
                f"network broadcast {n}, server CPU µs/recipient",
                1,
            )
        )
    rows.append(Figure("rss_kib_per_idle_conn", "server RSS KiB per idle connection", 1))
    return rows


PROMETHEUS = "pachinko+prometheus"


def targets_for(members: tuple[int, ...]) -> list[tuple[str, str, str, float]]:
    """(description, figure, compared with, limit): pachinko's value <= limit x the other's.

    Targets whose description starts with `PROMETHEUS` compare that contender with pachinko.
    """
    out = [
        ("in-process µs/msg <= Litestar's", "inproc_us_per_msg", "litestar", 1.0),
        ("in-process µs/msg <= 1.5x floor", "inproc_us_per_msg", FLOOR, 1.5),
        ("end-to-end server CPU/msg <= 1.1x floor", "e2e_server_cpu_us_per_msg", FLOOR, 1.1),
        (
            f"{PROMETHEUS}: in-process µs/msg <= 1.05x pachinko's",
            "inproc_us_per_msg",
            "pachinko",
            1.05,
        ),
    ]
    for n in members:
        out.append(
            (
                f"broadcast in-process {n}, CPU/recipient <= 2x floor",
                f"inproc_bcast_us_per_recipient_{n}",
                FLOOR,
                2.0,
            )
        )
    for n in members:
        out.append(
            (
                f"broadcast network {n}, server CPU/recipient <= 2x floor",
                f"net_bcast_cpu_us_per_recipient_{n}",
                FLOOR,
                2.0,
            )
        )
    out.append(("RSS per idle connection <= 1.1x floor", "rss_kib_per_idle_conn", FLOOR, 1.1))
    return out


def targets(
    figures: dict[str, dict[str, float]],
    members: tuple[int, ...],
    subjects: tuple[str, ...] = ("pachinko", "pachinko-all"),
) -> list[dict[str, Any]]:
    """Every target, for each subject present in the run (`pachinko-all`: everything on)."""
    out = []
    for description, key, other, limit in targets_for(members):
        values = figures.get(key, {})
        # NOTE: a PROMETHEUS target compares that contender alone; the others, each subject.
        for subject in (PROMETHEUS,) if description.startswith(PROMETHEUS) else subjects:
            if subject not in values or other not in values or not values[other]:
                continue
            ratio = values[subject] / values[other]
            out.append(
                {
                    "subject": subject,
                    "target": description,
                    "figure": key,
                    "versus": other,
                    "ratio": ratio,
                    "limit": limit,
                    "passed": ratio <= limit,
                }
            )
    return out


def table(
    figures: dict[str, dict[str, float]], contenders: list[str], members: tuple[int, ...]
) -> str:
    """A Markdown table (readable as plain text too): value (ratio to the floor)."""
    head = ["figure", *contenders]
    rows = []
    for figure in figures_for(members):
        values = figures.get(figure.key)
        if not values:
            continue
        floor = values.get(FLOOR)
        cells = [figure.label]
        for name in contenders:
            value = values.get(name)
            if value is None:
                cells.append("-")
                continue
            text = f"{value:,.{figure.digits}f}"
            if floor:
                text += f" ({value / floor:.2f}x)"
            cells.append(text)
        rows.append(cells)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)


def target_lines(results: list[dict[str, Any]]) -> str:
    lines = []
    for t in results:
        verdict = "PASS" if t["passed"] else "FAIL"
        ratio = f"{t['subject']} = {t['ratio']:.2f}x {t['versus']} (limit {t['limit']}x)"
        lines.append(f"- {verdict}  {t['target']}: {ratio}")
    return "\n".join(lines)
