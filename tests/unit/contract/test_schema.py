"""`pachinko schema`: a JSON Schema of pachinko.toml that agrees with the loader."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import jsonschema
import msgspec
import pytest

from pachinko.cli import EXIT_OK
from pachinko.contract.schema import (
    DURATION_PATTERN,
    RATE_PATTERN,
    manifest_schema,
    missing_descriptions,
)
from pachinko.manifest.values import Duration, Rate


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    size: Annotated[int, msgspec.Meta(ge=1, le=10, description="How many.")] = 2
    name: Annotated[str, msgspec.Meta(min_length=1)]
    every: Duration = Duration(0.25)


class _Model(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: int
    section: _Section
    path: str = ""  # filled in by the parser, like Manifest.path


if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
BAD = TESTS / "manifests" / "bad"
# NOTE: every manifest the suite treats as valid, plus the resolve-stage bad ones
# (r_*): their structure is valid, only their imports or names are not.
VALID = sorted(
    {ROOT / "pachinko.toml", *TESTS.rglob("*.toml"), *BAD.glob("r_*.toml")}
    - set(BAD.glob("s_*.toml"))
    - set(TESTS.rglob("pyproject.toml"))
    - set((TESTS / "manifests" / "many").glob("*.toml"))  # the many-mistakes manifest
)
# Structural codes the schema states today (ranges and non-empty names follow when
# the model carries them as msgspec.Meta constraints).
SCHEMA_CODES = {
    "unknown-key",
    "wrong-type",
    "missing-key",
    "invalid-duration",
    "invalid-rate",
}
# NOTE: JSON Schema's "integer" is any number with no fraction, so 1000000.0 passes.
_NOT_EXPRESSIBLE = {"s_max_bytes_float"}
_EXPECT = re.compile(r"error\[([a-z-]+)\]: (.*)")


def _structural() -> list[Path]:
    chosen = []
    for path in sorted(BAD.glob("s_*.toml")):
        code, message = _EXPECT.search(path.read_text().splitlines()[0]).groups()
        if path.stem in _NOT_EXPRESSIBLE:
            continue
        if code in SCHEMA_CODES or (code == "invalid-value" and "expected one of" in message):
            chosen.append(path)
    return chosen


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = manifest_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_valid_draft_2020_12_and_printed_by_the_cli(tmp_path: Path, cli) -> None:
    done = cli("schema")
    assert done.returncode == EXIT_OK
    schema = json.loads(done.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert cli("schema", "-o", str(tmp_path / "s.json")).returncode == EXIT_OK
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_an_unwritable_output_is_one_line_and_exit_1(tmp_path: Path, cli) -> None:
    done = cli("schema", "-o", str(tmp_path / "missing" / "s.json"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"cannot write {tmp_path / 'missing' / 's.json'}: ")
    assert done.stdout == ""


@pytest.mark.parametrize("path", VALID, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_valid_manifest_passes(path: Path, validator) -> None:
    document = tomllib.loads(path.read_text())
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == []


def test_the_many_mistakes_manifest_fails(validator) -> None:
    document = tomllib.loads((TESTS / "manifests" / "many" / "pachinko.toml").read_text())
    assert len(list(validator.iter_errors(document))) >= 3


@pytest.mark.parametrize("path", _structural(), ids=lambda p: p.stem)
def test_structurally_bad_manifest_fails(path: Path, validator) -> None:
    document = tomllib.loads(path.read_text())
    assert list(validator.iter_errors(document)) != []


@pytest.mark.parametrize(
    ("toml", "fails_at"),
    [
        ('version = 1\n[app]\nmout = "/ws"', "app"),
        ('version = 1\n[limits]\nburst = "100"', "limits.burst"),
        ('version = 1\n[app]\nenvelope = "flatt"', "app.envelope"),
        ('version = 1\n[[workers]]\nname = "a"\ntarget = "m:f"\nrestart = "often"', "workers"),
        ('version = 1\n[[routes]]\npath = "/a"\nmessages.x.handelr = "m:f"', "routes"),
        ('version = 1\n[limits]\nsend_timeout = "soon"', "limits.send_timeout"),
        ('version = 1\n[limits]\nrate = "fast"', "limits.rate"),
        ('version = 1\npath = "/elsewhere"', ""),
    ],
)
def test_unknown_keys_wrong_types_and_bad_values_fail(toml: str, fails_at: str, validator) -> None:
    errors = list(validator.iter_errors(tomllib.loads(toml)))
    assert errors
    assert ".".join(str(p) for p in errors[0].absolute_path if isinstance(p, str)).startswith(
        fails_at
    )


def test_backend_accepts_plugin_keys(validator) -> None:
    document = {"version": 1, "backend": {"use": "redis", "url": "redis://h", "prefix": "p"}}
    assert list(validator.iter_errors(document)) == []
    assert list(validator.iter_errors({"version": 1, "backend": {"use": 3}})) != []


def test_every_key_has_a_description_from_the_model() -> None:
    assert missing_descriptions(manifest_schema()) == []


def test_every_key_with_a_value_default_states_it() -> None:
    limits = manifest_schema()["properties"]["limits"]["properties"]
    assert limits["rate"]["default"] == "50/s"
    assert limits["send_timeout"]["default"] == "5s"
    assert limits["burst"]["default"] == 100
    rooms = manifest_schema()["properties"]["rooms"]["items"]["properties"]
    assert rooms["history_ttl"]["default"] == "10m"
    assert "default" not in rooms["name"]  # required


@pytest.mark.parametrize(
    "text",
    ["5s", "250ms", " 2m ", "1.5h", "0s", "5 s", "5", "5 secs", "s", "-1s", "1e3s", "5S", ""],
)
def test_duration_pattern_accepts_what_the_loader_accepts(text: str) -> None:
    try:
        Duration.parse(text)
        accepted = True
    except (TypeError, ValueError):
        accepted = False
    assert (re.match(DURATION_PATTERN, text) is not None) == accepted


@pytest.mark.parametrize(
    "text", ["50/s", "1/m", " 3 / s ", "off", "0/s", "007/s", "50", "50/h", "x/s"]
)
def test_rate_pattern_accepts_what_the_loader_accepts(text: str) -> None:
    try:
        Rate.parse(text)
        accepted = True
    except (TypeError, ValueError):
        accepted = False
    assert (re.match(RATE_PATTERN, text) is not None) == accepted


def test_constraints_and_descriptions_on_the_model_reach_the_schema() -> None:
    # NOTE: what happens when the model's Structs carry msgspec.Meta constraints.
    schema = manifest_schema(_Model)
    assert "path" not in schema["properties"]
    section = schema["properties"]["section"]
    assert section["required"] == ["name"]
    assert section["additionalProperties"] is False
    size = section["properties"]["size"]
    assert size == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "description": "How many.",
        "default": 2,
    }
    assert section["properties"]["name"]["minLength"] == 1
    assert section["properties"]["every"]["default"] == "250ms"
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"version": 1, "section": {"name": "a", "size": 0}}))
    assert not list(validator.iter_errors({"version": 1, "section": {"name": "a", "size": 3}}))
