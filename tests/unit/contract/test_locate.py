"""`read_located` remembers where each key and item of a YAML or JSON document is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pachinko.contract.locate import DocumentError, read_located

YAML = """\
# a comment
a:
  b: 1
  "c d": [x, {e: 2}]
list:
  - one
  - k: v
anchor: &shared {z: 1}
alias: *shared
"""

JSON = (
    '{\n  "a": {"b": 1, "c d": ["x", {"e": 2}]},\n'
    '\t"n": [1.5e3, -2, true, null, NaN],\n'
    '  "s": "\\"q\\u00e9\\" {["\n}'
)


def test_yaml_keys_and_items_are_located(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(YAML)
    doc = read_located(path, "missing", "syntax")
    assert doc.data["a"]["c d"][1] == {"e": 2}
    assert doc.locate(("a",)) == (2, 1)
    assert doc.locate(("a", "b")) == (3, 3)
    assert doc.locate(("a", "c d", 1, "e")) == (4, 15)
    assert doc.locate(("list", 1, "k")) == (7, 5)
    assert doc.locate(("alias",)) == (9, 1)
    assert doc.locate(("a", "nowhere", 3)) == (2, 1)  # the nearest written ancestor


def test_json_keys_and_items_are_located(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(JSON)
    doc = read_located(path, "missing", "syntax")
    assert doc.data["a"]["b"] == 1
    assert doc.locate(("a",)) == (2, 3)
    assert doc.locate(("a", "c d")) == (2, 17)
    assert doc.locate(("a", "c d", 1, "e")) == (2, 31)
    assert doc.locate(("n",)) == (3, 2)
    assert doc.locate(("n", 4)) == (3, 31)
    assert doc.locate(("s",)) == (4, 3)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [("bad.yaml", "a: [1,\nb: }", (2, 4)), ("bad.json", '{"a": 1,,}', (1, 9))],
)
def test_syntax_errors_are_located(name: str, text: str, where: tuple, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DocumentError) as caught:
        read_located(path, "missing", "syntax")
    found = caught.value.diagnostic
    assert (found.code, found.line, found.column) == ("syntax", *where)


def test_json_locations_agree_with_the_parser_on_every_key(tmp_path: Path) -> None:
    data = {"x": [{"y": "a\\nb", "z": [1, {"w": None}]}], "ü": {"": []}}
    text = json.dumps(data, indent=3, ensure_ascii=False)
    path = tmp_path / "doc.json"
    path.write_text(text)
    doc = read_located(path, "missing", "syntax")
    lines = text.splitlines()
    for pointer, (line, column) in doc.positions.items():
        if isinstance(pointer[-1], str):
            assert lines[line - 1][column - 1 :].startswith(
                json.dumps(pointer[-1], ensure_ascii=False)
            )
