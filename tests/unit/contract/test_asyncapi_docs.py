"""docs/asyncapi.md: its files make a project, and its commands print what it shows."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import jsonschema
import pytest

from pachinko.cli import EXIT_INVALID, EXIT_OK

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.md"
# A `<!-- tag: argument -->` line, then a fenced block.
BLOCK = re.compile(
    r"<!-- (?P<tag>[\w-]+)(?:: (?P<arg>[^>]*?))? -->\n```\w*\n(?P<body>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)
BLOCKS = [(m["tag"], m["arg"], m["body"]) for m in BLOCK.finditer(DOC.read_text("utf-8"))]
SHOWN = "/srv/chat"  # where the doc pretends the project is


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for tag, arg, body in BLOCKS:
        if tag == "file":
            (tmp_path / arg).write_text(body, encoding="utf-8")
    return tmp_path


def _command(arg: str) -> list[str]:
    words = shlex.split(arg)
    assert words[0] == "pachinko"
    return words[1:]


def test_the_doc_has_its_examples() -> None:
    tags = [tag for tag, _, _ in BLOCKS]
    assert tags.count("file") == 4
    assert tags.count("excerpt") >= 2
    assert "output" in tags
    assert "manifest-head" in tags


@pytest.mark.parametrize(
    "body", [b for t, _, b in BLOCKS if t == "excerpt"], ids=lambda b: b.split()[0]
)
def test_an_excerpt_is_part_of_the_real_output(body: str, project: Path, cli) -> None:
    (arg,) = {a for t, a, b in BLOCKS if t == "excerpt" and b == body}
    done = cli(*_command(arg), cwd=project)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert body in done.stdout


@pytest.mark.parametrize(("arg", "body"), [(a, b) for t, a, b in BLOCKS if t == "output"])
def test_an_output_is_the_real_one(arg: str, body: str, project: Path, cli) -> None:
    done = cli(*_command(arg), cwd=project)
    assert done.stdout.replace(str(project), SHOWN) == body
    assert done.returncode == (EXIT_INVALID if "✗" in body else EXIT_OK)


def test_the_schema_directive_and_taplo_rule_point_at_the_generated_schema(
    project: Path, cli
) -> None:
    (head,) = [body for tag, _, body in BLOCKS if tag == "manifest-head"]
    directive, first = head.splitlines()
    manifest = project / "pachinko.toml"
    assert manifest.read_text().startswith(first + "\n")
    manifest.write_text(directive + "\n" + manifest.read_text())
    assert cli("check", cwd=project).returncode == EXIT_OK
    assert cli("schema", "-o", "pachinko.schema.json", cwd=project).returncode == EXIT_OK
    schema_path = project / directive.removeprefix("#:schema ")
    taplo = tomllib.loads((project / ".taplo.toml").read_text())
    assert project / taplo["rule"][0]["schema"]["path"] == schema_path
    assert taplo["rule"][0]["include"] == ["**/pachinko.toml"]
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(tomllib.loads(manifest.read_text()), schema)
