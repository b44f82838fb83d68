"""The message loop's named parts: the token bucket and the decoder's failure modes."""

from __future__ import annotations

import logging

import pytest

from pachinko.codecs import JsonCodec, MsgpackCodec
from pachinko.runtime.crashes import CrashLog
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


def crash_at_one_line(n: int) -> ValueError:
    try:
        raise ValueError(f"bad {n}")
    except ValueError as exc:
        return exc


def test_a_repeated_crash_logs_its_traceback_once_then_summaries_in_powers_of_two(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashes = CrashLog(logging.getLogger("test.crashes"))
    with caplog.at_level(logging.ERROR, "test.crashes"):
        for n in range(100):
            crashes.crashed("handler", "say", f"c{n}", crash_at_one_line(n))
    records = caplog.records
    assert len(records) == 7  # the first, then at 2, 4, 8, 16, 32, 64
    assert records[0].exc_info is not None
    assert all(record.exc_info is None for record in records[1:])
    assert "the same crash 64 times" in records[-1].getMessage()
    assert "c63" in records[-1].getMessage()  # each line names its connection


def test_different_crashes_are_each_logged_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashes = CrashLog(logging.getLogger("test.crashes"))
    with caplog.at_level(logging.ERROR, "test.crashes"):
        crashes.crashed("a", "x", "c1", crash_at_one_line(1))
        crashes.crashed("b", "x", "c1", crash_at_one_line(1))
        crashes.crashed("a", "x", "c1", KeyError("k"))
    assert [record.exc_info is not None for record in caplog.records] == [True, True, True]


def test_the_crash_table_is_bounded() -> None:
    crashes = CrashLog(logging.getLogger("test.crashes"), size=8)
    for n in range(100):
        crashes.crashed(f"handler{n}", "x", "c", crash_at_one_line(n))
    assert len(crashes._seen) == 8
