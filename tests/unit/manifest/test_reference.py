"""docs/manifest.md is generated from the model, and its examples are manifests that load."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from pachinko.manifest import load, model
from pachinko.manifest.check import NOT_TOML
from pachinko.manifest.reference import TABLES, render

PAGE = Path(__file__).resolve().parents[3] / "docs" / "manifest.md"


def test_the_page_is_what_the_model_generates() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/manifest.md is stale: python -m pachinko.manifest.reference > docs/manifest.md"
    )


def test_every_key_of_every_table_has_a_row_with_a_meaning() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for _, struct in TABLES:
        for field in msgspec.structs.fields(struct):
            if (struct is model.Manifest and field.name in NOT_TOML) or field.name == "config":
                continue
            row = re.search(rf"^\| `{field.encode_name}` \|(.*)\|$", page, re.MULTILINE)
            assert row is not None, field.encode_name
            meaning = row[1].split("|")[-1].strip()
            assert meaning, f"{struct.__name__}.{field.name} has no description"


def test_the_examples_together_are_a_manifest_that_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    path = tmp_path / "pachinko.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    manifest = load(path)
    assert manifest.routes[0].messages["send"].handler == "chat.handlers:send"
    assert manifest.workers[0].args == {"limit": 20}
