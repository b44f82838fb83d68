"""`pachinko check --against`: drift between the manifest and an AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pachinko.cli import EXIT_INVALID, EXIT_OK
from pachinko.contract.asyncapi import asyncapi_document, render
from pachinko.contract.drift import drift
from pachinko.contract.routes import load_app
from pachinko.loader import examine

ROOT = Path(__file__).resolve().parents[3]
APPS = Path(__file__).parent / "apps"
DRIFTED = APPS / "demo-drifted.yaml"


def _plan(manifest: Path):
    result = examine(manifest)
    assert result.plan is not None, result.diagnostics
    return result.plan


@pytest.mark.parametrize("manifest", ["pachinko.toml", "full.toml", "flat.toml"])
@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_a_generated_document_has_no_drift(manifest: str, suffix: str, tmp_path: Path) -> None:
    path = ROOT / manifest if manifest == "pachinko.toml" else APPS / manifest
    document = tmp_path / f"asyncapi.{suffix}"
    document.write_text(render(asyncapi_document(load_app(path)), suffix))
    assert drift(_plan(path), document) == ()


def test_drift_is_reported_in_whichever_file_holds_the_extra_item(cli) -> None:
    done = cli("check", "--against", str(DRIFTED))
    assert done.returncode == EXIT_INVALID
    manifest, schemas = ROOT / "pachinko.toml", ROOT / "demo" / "schemas.py"
    assert done.stdout.splitlines() == [
        f"{manifest}:32:1: error[drift-reply]: reply 'say.ok' of 'say' is not in demo-drifted.yaml",
        f"{DRIFTED}:18:7: error[drift-message]: message 'typing' of '/ws/chat/{{room}}' "
        "has no handler in the manifest",
        f"{DRIFTED}:25:5: error[drift-channel]: channel '/ws/news' "
        "matches no route of the manifest",
        f"{DRIFTED}:58:11: error[drift-field-type]: field 'text' of the payload of 'say' "
        "is integer here, string in the code",
        f"  hint: the code declares it at {schemas}:19",
        f"{DRIFTED}:59:11: error[drift-field]: field 'mentions' of the payload of 'say' "
        "is not in the code",
        "  hint: the code's payload type is demo.schemas:Say",
        f"{DRIFTED}:60:5: error[drift-reply]: reply 'said' of 'say': the manifest replies 'say.ok'",
        "  hint: set reply = 'said' in the manifest",
        "✗ 6 errors, 0 warnings",
    ]


def test_no_drift_exits_0(tmp_path: Path, cli) -> None:
    document = tmp_path / "asyncapi.yaml"
    assert cli("asyncapi", "-o", str(document)).returncode == EXIT_OK
    done = cli("check", "--against", str(document))
    assert done.returncode == EXIT_OK, done.stdout
    assert done.stdout == "✓ pachinko.toml: 1 route, 2 message types, 0 warnings\n"


def _generated(manifest: Path) -> dict:
    return json.loads(json.dumps(asyncapi_document(load_app(manifest))))


def test_json_documents_are_located_by_line_and_column(tmp_path: Path) -> None:
    document = _generated(ROOT / "pachinko.toml")
    document["components"]["schemas"]["Say"]["properties"]["mood"] = {"type": "string"}
    path = tmp_path / "api.json"
    path.write_text(json.dumps(document, indent=2))
    (found,) = drift(_plan(ROOT / "pachinko.toml"), path)
    lines = path.read_text().splitlines()
    assert (found.path, found.code) == (path, "drift-field")
    assert lines[found.line - 1][found.column - 1 :].startswith('"mood"')


def test_a_field_only_in_the_code_is_reported_at_the_struct_field(tmp_path: Path) -> None:
    document = _generated(APPS / "full.toml")
    del document["components"]["schemas"]["Send"]["properties"]["mood"]
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(document))
    (found,) = drift(_plan(APPS / "full.toml"), path)
    assert found.code == "drift-field"
    assert found.path == APPS / "fx_contract.py"
    source = found.path.read_text().splitlines()[found.line - 1]
    assert source[found.column - 1 :].startswith("mood: Mood")


def test_messages_only_in_the_manifest_point_at_their_key_or_the_resource(tmp_path: Path) -> None:
    document = _generated(APPS / "full.toml")
    for operation in ("chat.send", "chat.kick"):
        del document["operations"][operation]
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(document))
    found = drift(_plan(APPS / "full.toml"), path)
    text = (APPS / "full.toml").read_text().splitlines()
    where = {d.message.split()[1]: text[d.line - 1] for d in found}
    assert where == {"'send'": "[routes.messages.send]", "'kick'": 'resource = "fx_contract:Room"'}
    assert {d.code for d in found} == {"drift-message"}


def test_a_reply_the_manifest_declares_is_reported_at_its_key(tmp_path: Path) -> None:
    document = _generated(APPS / "full.toml")
    document["operations"]["chat.send"]["reply"]["messages"] = [
        {"$ref": "#/channels/chat/messages/error"}
    ]
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(document))
    (found,) = drift(_plan(APPS / "full.toml"), path)
    assert found.code == "drift-reply"
    assert (APPS / "full.toml").read_text().splitlines()[found.line - 1] == 'reply = "sent"'


def test_a_route_missing_from_the_document_is_reported_at_its_path(tmp_path: Path) -> None:
    document = _generated(APPS / "full.toml")
    document["operations"] = {
        key: op for key, op in document["operations"].items() if key.startswith("chat.")
    }
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(document))
    (found,) = drift(_plan(APPS / "full.toml"), path)
    assert found.code == "drift-channel"
    line = (APPS / "full.toml").read_text().splitlines()[found.line - 1]
    assert line == 'path = "/items/{item_id:int}/{kind}"'


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("missing.yaml", None, ":1:1: error[asyncapi-unreadable]: cannot read"),
        (
            "bad.yaml",
            "asyncapi: 3.0.0\nchannels: [\n",
            ":3:1: error[asyncapi-syntax]: invalid YAML",
        ),
        ("bad.json", '{"asyncapi": "3.0.0",\n  x}', ":2:3: error[asyncapi-syntax]: invalid JSON"),
        ("old.yaml", "info: {}\nasyncapi: 2.6.0\n", ":2:1: error[asyncapi-version]: expected an"),
    ],
)
def test_an_unusable_document_is_one_located_error(
    name: str, text: str | None, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    (found,) = drift(_plan(ROOT / "pachinko.toml"), path)
    assert str(found).startswith(f"{path}{expected}")


def test_json_format_lists_drift_diagnostics(cli) -> None:
    done = cli("check", "--format", "json", "--against", str(DRIFTED))
    assert done.returncode == EXIT_INVALID
    found = json.loads(done.stdout)
    assert [d["code"] for d in found] == [
        "drift-reply",
        "drift-message",
        "drift-channel",
        "drift-field-type",
        "drift-field",
        "drift-reply",
    ]
    assert found[1]["path"] == str(DRIFTED)
    assert (found[1]["line"], found[1]["column"]) == (18, 7)


def test_an_object_payload_against_a_scalar_one_is_a_type_change(tmp_path: Path) -> None:
    document = _generated(APPS / "full.toml")
    frame = document["channels"]["ws-items-item_id-kind"]["messages"]["count"]["payload"]
    frame["properties"]["payload"] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    (found,) = drift(_plan(APPS / "full.toml"), path)
    assert (found.code, found.path) == ("drift-field-type", path)
    assert found.message == "the payload of 'count' is object here, integer in the code"
    assert path.read_text().splitlines()[found.line - 1].strip() == "payload:"
