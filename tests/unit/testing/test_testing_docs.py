"""docs/testing.md: its files are the example project's, and its scripts run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
DOC = ROOT / "docs" / "testing.md"
EXAMPLE = ROOT / "tests" / "example_project"

# An optional `<!-- file: PATH -->` or `<!-- skip: why -->` line, then a fenced block.
BLOCK = re.compile(
    r"(?:<!-- (?P<tag>file|skip): (?P<arg>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)


def blocks() -> list[tuple[int, str | None, str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("body"))
        found.append((line, match["tag"], match["arg"], match["lang"], match["body"]))
    return found


FILES = [(line, arg, body) for line, tag, arg, _, body in blocks() if tag == "file"]
SCRIPTS = [
    (line, body) for line, tag, _, lang, body in blocks() if tag is None and lang == "python"
]


def test_the_doc_has_files_and_scripts() -> None:
    assert len(FILES) >= 4
    assert len(SCRIPTS) >= 2


@pytest.mark.parametrize(("line", "path", "body"), FILES, ids=[f[1] for f in FILES])
def test_a_file_shown_in_the_doc_is_the_real_one(line: int, path: str, body: str) -> None:
    assert body == (ROOT / path).read_text(encoding="utf-8"), f"docs/testing.md:{line}"


@pytest.mark.parametrize(("line", "body"), SCRIPTS, ids=[f"line{s[0]}" for s in SCRIPTS])
def test_a_script_in_the_doc_runs(line: int, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE)
    monkeypatch.delenv("PACHINKO_MANIFEST", raising=False)
    code = compile("\n" * line + body, str(DOC), "exec")
    exec(code, {"__name__": "__docs__"})
