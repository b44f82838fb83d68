"""The message loop's named parts: the token bucket and the decoder's failure modes."""

from __future__ import annotations

import pytest

from pachinko.codecs import JsonCodec, MsgpackCodec
from pachinko.runtime.frames import is_well_formed
from pachinko.runtime.loop import TokenBucket


def test_a_full_bucket_takes_a_burst_then_refuses() -> None:
    bucket = TokenBucket(count=10, per=1.0, capacity=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_the_bucket_refills_at_its_rate_and_never_beyond_its_capacity() -> None:
    bucket = TokenBucket(count=10, per=1.0, capacity=3, now=0.0)
    for _ in range(3):
        assert bucket.take(0.0)
    assert not bucket.take(0.05)  # half a token has come back
    assert bucket.take(0.1)  # a whole one now
    assert not bucket.take(0.1)
    assert [bucket.take(60.0) for _ in range(4)] == [True, True, True, False]


def test_a_per_minute_rate_refills_a_token_every_few_seconds() -> None:
    bucket = TokenBucket(count=30, per=60.0, capacity=1, now=0.0)
    assert bucket.take(0.0)
    assert not bucket.take(1.9)
    assert bucket.take(2.0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"type": "x"}', True),
        ("[1, 2]", True),
        ("12x", False),
        ("[1, 2", False),
        ("[" * 5000 + "]" * 5000, False),  # nested past the decoder's depth
    ],
)
def test_well_formed_tells_malformed_json_from_a_wrong_shape(data: str, expected: bool) -> None:
    assert is_well_formed(JsonCodec(), data) is expected


def test_well_formed_reads_msgpack_too() -> None:
    assert is_well_formed(MsgpackCodec(), b"\x81\xa4type\xa1x")
    assert not is_well_formed(MsgpackCodec(), b"\xc1")
