"""`InflationGuard` counts what compressed messages inflate to, however the bytes arrive."""

from __future__ import annotations

import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate

from pachinko.serve.inflation import InflationGuard

LIMIT = 10_000


def masked(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65_536:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stream(messages: list[bytes]) -> bytes:
    """Compressed text messages with context takeover, some in two fragments, pings between."""
    deflate = zlib.compressobj(wbits=-15)
    out = b""
    for n, message in enumerate(messages):
        data = (deflate.compress(message) + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]
        if n % 2 and len(data) > 2:
            half = len(data) // 2
            out += masked(0x1, data[:half], fin=False, rsv1=True)
            out += masked(0x9, b"ping")
            out += masked(0x0, data[half:])
        else:
            out += masked(0x1, data, rsv1=True)
    return out


def guard() -> InflationGuard:
    return InflationGuard(PerMessageDeflate(False, False, 15, 15), LIMIT)


def feed(data: bytes, cuts: list[int]) -> bool:
    checker, start = guard(), 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        if not checker.feed(data[start:cut]):
            return False
        start = cut
    return True


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, LIMIT), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 200_000), max_size=12),
)
def test_messages_within_the_limit_pass_however_they_are_cut(
    sizes: list[int], cuts: list[int]
) -> None:
    messages = [(b"%d-" % n * LIMIT)[:size] for n, size in enumerate(sizes)]
    assert feed(stream(messages), cuts)


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(0, 200_000), max_size=12))
def test_one_byte_over_the_limit_is_caught_however_it_is_cut(cuts: list[int]) -> None:
    assert not feed(stream([b"a" * 100, b"b" * (LIMIT + 1)]), cuts)


def test_a_bomb_is_caught_in_its_first_chunk() -> None:
    deflate = zlib.compressobj(wbits=-15)
    bomb = (deflate.compress(b"\0" * 50_000_000) + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]
    data = masked(0x2, bomb, rsv1=True)
    assert not guard().feed(data[:4096])


def test_uncompressed_frames_are_not_counted() -> None:
    assert guard().feed(masked(0x2, b"x" * 50_000) + masked(0x1, b"y" * 20_000))
