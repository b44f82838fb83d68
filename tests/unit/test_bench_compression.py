"""The bytes-on-the-wire figures quoted for compression are what `bench.compression` computes."""

from __future__ import annotations

import re
from pathlib import Path

from bench.compression import bytes_table, chat_lines, wire_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_the_quoted_table_is_the_computed_one() -> None:
    text = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    quoted = {
        row[0]: [int(cell.replace(",", "")) for cell in row[1:4]]
        for row in re.findall(r"^\| (\S.*?) +\| +([\d,]+) \| +(\d+) \| +(\d+) \|", text, re.M)
    }
    computed = {
        kind: [round(plain), first, round(rest)] for kind, plain, first, rest in bytes_table()
    }
    assert quoted == computed


def test_deflate_shrinks_repeated_shapes_and_no_line_repeats() -> None:
    lines = chat_lines(200)
    assert len(set(lines)) == len(lines)
    frames = [f'{{"type":"said","payload":{{"text":"{line}"}}}}'.encode() for line in lines]
    plain = wire_bytes(frames, deflate=False, mask=False)
    packed = wire_bytes(frames, deflate=True, mask=False)
    assert plain[0] == len(frames[0]) + 2  # a small unmasked frame: two header bytes
    assert sum(packed) < sum(plain) / 2
