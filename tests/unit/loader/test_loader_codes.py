"""Every diagnostic code pachinko emits is documented in docs/diagnostics.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pachinko.manifest.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "diagnostics.md"
_KEBAB = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
# NOTE: kebab-case strings in these stages that are values, not diagnostic codes.
_NOT_CODES = {"utf-8", "utf-8-sig", "on-failure", "same-origin", "x-pachinko-subprotocol"}


def _documented() -> set[str]:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", DOCS.read_text(), flags=re.MULTILINE)
    return set(rows)


def _literals() -> set[str]:
    found = set()
    for folder in ("manifest", "loader", "contract"):
        for source in (ROOT / "pachinko" / folder).glob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and _KEBAB.match(node.value):
                    found.add(node.value)
    return found - _NOT_CODES


def test_every_registered_code_is_documented() -> None:
    codes = set(CODES)
    assert codes - _documented() == set()


def test_every_code_literal_in_the_sources_is_documented() -> None:
    assert _literals() - _documented() == set()


def test_every_documented_code_is_still_emitted() -> None:
    codes = set(CODES)
    assert _documented() - codes == set()
