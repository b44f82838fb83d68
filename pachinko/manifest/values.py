"""Typed manifest values parsed from strings: durations and rates."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|m)\s*$")


class Duration(float):
    """A duration in seconds, written `"250ms"`, `"5s"`, `"2m"`, `"1h"` or as a number."""

    @classmethod
    def parse(cls, value: object) -> Duration:
        """Parse a manifest value; raise ValueError/TypeError with a readable reason."""
        if isinstance(value, bool):
            raise TypeError('Expected a duration like "5s", got a boolean')
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, str):
            match = _DURATION.match(value)
            if match is None:
                raise ValueError(f'invalid duration {value!r}: use e.g. "250ms", "5s", "2m"')
            seconds = float(match[1]) * _UNITS[match[2]]
        else:
            raise TypeError(f'Expected a duration like "5s", got {type(value).__name__}')
        if seconds < 0 or seconds != seconds or seconds == float("inf"):
            raise ValueError(f"duration must be a finite number of seconds >= 0, got {value!r}")
        return cls(seconds)

    def __repr__(self) -> str:
        return f"Duration({float(self)!r})"


class Rate:
    """An inbound message rate: `count` messages per `per` seconds; `count == 0` is off.

    A plain class, not a dataclass, so that msgspec hands its raw value to `dec_hook`.
    """

    __slots__ = ("count", "per")

    def __init__(self, count: int, per: float) -> None:
        self.count = count
        self.per = per

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rate) and (self.count, self.per) == (other.count, other.per)

    def __hash__(self) -> int:
        return hash((self.count, self.per))

    def __repr__(self) -> str:
        return "Rate('off')" if self.is_off else f"Rate({self.count}/{self.per:g}s)"

    @property
    def is_off(self) -> bool:
        return self.count == 0

    @classmethod
    def parse(cls, value: object) -> Rate:
        """Parse `"N/s"`, `"N/m"` or `"off"`."""
        if not isinstance(value, str):
            raise TypeError(f'Expected a rate like "50/s" or "off", got {type(value).__name__}')
        if value.strip() == "off":
            return cls(0, 1.0)
        match = _RATE.match(value)
        if match is None or int(match[1]) <= 0:
            raise ValueError(f'invalid rate {value!r}: use "N/s", "N/m" with N >= 1, or "off"')
        return cls(int(match[1]), 1.0 if match[2] == "s" else 60.0)


def dec_hook(tp: type, value: object) -> object:
    """msgspec's `dec_hook` for manifest values (the manifest's and plugins' config Structs)."""
    if tp is Duration:
        return Duration.parse(value)
    if tp is Rate:
        return Rate.parse(value)
    if tp is object:  # NOTE: msgspec asks for free-form values, e.g. a worker's `args`
        return value
    raise NotImplementedError(f"cannot decode {tp!r}")
