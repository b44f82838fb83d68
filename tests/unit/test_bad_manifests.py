"""Each broken manifest in tests/manifests/bad states its first diagnostic on line 1.

`s_*.toml` are structural mistakes (stage 1), `r_*.toml` resolution mistakes
(stage 2) whose `fx_*.py` modules sit beside them, one module per case so that
no case is answered from another's `sys.modules` entry. A structural mistake is
the first diagnostic of stage 1 alone; `check` reports it too, beside whatever the
resolution of the parts that parsed finds (some `s_*` cases name modules that do
not exist).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pachinko.errors import ManifestError
from pachinko.loader import check
from pachinko.manifest import load

BAD = Path(__file__).resolve().parent.parent / "manifests" / "bad"
_IMPORTED = re.compile(r"\"(fx_\w+)[.:]")


@pytest.mark.parametrize("path", sorted(BAD.glob("*.toml")), ids=lambda p: p.stem)
def test_bad_manifest_is_reported_where_it_is_wrong(path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    diagnostics = check(path)
    assert diagnostics, "no diagnostic at all"
    lines = [str(d).partition("\n")[0].removeprefix(f"{path}:") for d in diagnostics]
    if path.stem.startswith("s_"):
        with pytest.raises(ManifestError) as caught:
            load(path)
        first = str(caught.value.diagnostics[0]).partition("\n")[0]
        assert first.removeprefix(f"{path}:") == expected
        assert expected in lines
    else:
        assert lines[0] == expected


def test_each_fixture_module_serves_one_manifest_only() -> None:
    users: dict[str, list[str]] = {}
    for path in BAD.glob("*.toml"):
        for module in set(_IMPORTED.findall(path.read_text())):
            users.setdefault(module, []).append(path.name)
    shared = {module: names for module, names in users.items() if len(names) > 1}
    assert shared == {}
