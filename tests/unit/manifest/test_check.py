"""The structural checker reads each key's constraints from the model's `msgspec.Meta`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from pachinko.manifest.check import Checker
from pachinko.manifest.diagnostics import Collector
from pachinko.manifest.model import NOT_BLANK, LimitsTable
from pachinko.manifest.values import Duration


class Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    count: Annotated[int, msgspec.Meta(ge=3)] = 3
    wait: Annotated[Duration, msgspec.Meta(extra={"gt": 1})] = Duration(2.0)
    label: Annotated[str, msgspec.Meta(pattern=NOT_BLANK)] = "x"


def _check(value: dict[str, object], struct: type[msgspec.Struct]) -> list[str]:
    report = Collector(Path("pachinko.toml"), None)
    Checker(report).value(value, struct, ("t",))
    return [d.message for d in report.diagnostics]


def test_constraints_come_from_the_meta_of_any_model() -> None:
    assert _check({"count": 2, "wait": "1s", "label": " "}, Table) == [
        "'t.count' must be >= 3, got 2",
        "'t.wait' must be > 1, got \"1s\"",
        "'t.label' must not be empty",
    ]
    assert _check({"count": 3, "wait": "1.5s", "label": "ok"}, Table) == []


def test_the_manifests_own_bounds_are_declared_on_its_fields() -> None:
    fields = {f.name: f.type for f in msgspec.structs.fields(LimitsTable)}
    assert "ge=1" in repr(fields["burst"])
    assert "'gt': 0" in repr(fields["send_timeout"])
    assert _check({"burst": 0, "send_timeout": 0}, LimitsTable) == [
        "'t.burst' must be >= 1, got 0",
        "'t.send_timeout' must be > 0, got 0",
    ]
