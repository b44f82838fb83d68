"""`pachinko asyncapi`: the document's shape, and the official parser's verdict on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pachinko.cli import EXIT_INVALID, EXIT_OK
from pachinko.contract.asyncapi import asyncapi_document
from pachinko.contract.routes import load_app
from pachinko.runtime.frames import ERROR_CODES

ROOT = Path(__file__).resolve().parents[3]
APPS = Path(__file__).parent / "apps"
MANIFESTS = {
    "demo": ROOT / "pachinko.toml",
    "full": APPS / "full.toml",
    "flat": APPS / "flat.toml",
    "versioned": ROOT / "tests" / "e2e" / "apps" / "versioned" / "pachinko.toml",
}


@pytest.fixture(scope="module")
def full() -> dict:
    return asyncapi_document(load_app(APPS / "full.toml"))


@pytest.fixture(scope="module")
def flat() -> dict:
    return asyncapi_document(load_app(APPS / "flat.toml"))


def test_official_parser_reports_no_error_on_generated_documents(
    tmp_path: Path, cli, asyncapi_parser
) -> None:
    files = []
    for name, manifest in MANIFESTS.items():
        for suffix in ("json", "yaml"):
            out = tmp_path / f"{name}.{suffix}"
            done = cli("asyncapi", "-m", str(manifest), "-o", str(out))
            assert done.returncode == EXIT_OK, done.stdout + done.stderr
            files.append(out)
    found = asyncapi_parser(*files)
    errors = {
        file: [d for d in diagnostics if d["severity"] == 0] for file, diagnostics in found.items()
    }
    assert errors == {str(file): [] for file in files}


def test_official_parser_does_report_an_untranslated_discriminator(
    tmp_path: Path, full: dict, asyncapi_parser
) -> None:
    # NOTE: the control for the test above: the parser does see what we translate away.
    document = json.loads(json.dumps(full))
    draw = document["channels"]["chat"]["messages"]["draw"]["payload"]["properties"]["payload"]
    draw["discriminator"] = {"propertyName": "type"}
    (tmp_path / "broken.json").write_text(json.dumps(document))
    found = asyncapi_parser(tmp_path / "broken.json")[str(tmp_path / "broken.json")]
    assert any(d["severity"] == 0 and "discriminator" in d["path"] for d in found)


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_parser_fails_under_ci_and_skips_elsewhere(
    ci: str, outcome: type, tmp_path: Path, asyncapi_parser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        asyncapi_parser(tmp_path / "any.json", node_modules=tmp_path)


def test_info_and_server_come_from_the_app_and_options(cli) -> None:
    done = cli("asyncapi", "--host", "chat.example.com", "--port", "443")
    assert done.returncode == EXIT_OK, done.stderr
    document = json.loads(done.stdout)
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "demo"
    assert document["info"]["description"].startswith("A small chat")
    assert document["servers"] == {"default": {"host": "chat.example.com:443", "protocol": "ws"}}
    ipv6 = asyncapi_document(load_app(ROOT / "pachinko.toml"), host="::1", port=8000)
    assert ipv6["servers"]["default"]["host"] == "[::1]:8000"


def test_each_route_is_a_channel_with_its_address_under_mount_and_its_parameters(
    full: dict,
) -> None:
    channels = full["channels"]
    assert channels["chat"]["address"] == "/ws/chat/{room}"
    assert set(channels["chat"]["parameters"]) == {"room"}
    items = channels["ws-items-item_id-kind"]
    assert items["address"] == "/ws/items/{item_id}/{kind}"
    assert "converter 'int'" in items["parameters"]["item_id"]["description"]


def test_each_client_message_is_a_receive_operation_with_its_reply(full: dict) -> None:
    operation = full["operations"]["chat.send"]
    assert operation["action"] == "receive"
    assert operation["summary"] == "Post a message to the room"
    assert operation["messages"] == [{"$ref": "#/channels/chat/messages/send"}]
    assert operation["reply"]["messages"] == [
        {"$ref": "#/channels/chat/messages/sent"},
        {"$ref": "#/channels/chat/messages/error"},
    ]
    sent = full["channels"]["chat"]["messages"]["sent"]
    assert sent["name"] == "sent"
    assert sent["payload"]["properties"]["payload"] == {"$ref": "#/components/schemas/Sent"}


def test_message_names_and_summaries_come_from_the_manifest(full: dict) -> None:
    send = full["channels"]["chat"]["messages"]["send"]
    assert send["name"] == "send"
    assert send["summary"] == "Post a message to the room"


def test_nested_frames_wrap_the_payload(full: dict) -> None:
    frame = full["channels"]["chat"]["messages"]["send"]["payload"]
    assert frame["required"] == ["type", "payload"]
    assert frame["properties"]["type"] == {"type": "string", "const": "send"}
    assert frame["properties"]["payload"] == {"$ref": "#/components/schemas/Send"}
    assert frame["properties"]["id"] == {"$ref": "#/components/schemas/pachinko.MessageId"}


def test_an_optional_payload_is_not_required_in_the_frame(full: dict) -> None:
    frame = full["channels"]["ws-items-item_id-kind"]["messages"]["tree"]["payload"]
    assert frame["required"] == ["type"]


def test_flat_frames_put_payload_fields_beside_type_and_id(flat: dict) -> None:
    frame = flat["channels"]["chat"]["messages"]["send"]["payload"]
    assert "payload" not in frame["properties"]
    assert {"text", "mood", "type", "id"} <= set(frame["properties"])
    assert frame["required"] == ["type", "text"]
    assert frame["additionalProperties"] is False
    error = flat["components"]["messages"]["error"]["payload"]
    assert set(error["properties"]) == {"type", "id", "code", "message"}


def test_msgspec_discriminator_becomes_a_property_name(full: dict) -> None:
    union = full["channels"]["chat"]["messages"]["draw"]["payload"]["properties"]["payload"]
    assert union["discriminator"] == "type"
    assert union["required"] == ["type"]
    assert union["properties"]["type"] == {"enum": ["circle", "square"]}


def test_payload_schemas_keep_constraints_enums_and_nesting(full: dict) -> None:
    schemas = full["components"]["schemas"]
    text = schemas["Send"]["properties"]["text"]
    assert (text["minLength"], text["maxLength"], text["pattern"]) == (1, 500, r"\S")
    assert sorted(schemas["Mood"]["enum"]) == ["grumpy", "happy"]
    assert schemas["Attachment"]["properties"]["size"]["maximum"] == 10_000_000
    position = schemas["Send"]["properties"]["position"]["anyOf"][0]
    assert position["items"] == [{"type": "number"}, {"type": "number"}]
    assert position["additionalItems"] is False
    extra = schemas["Send"]["properties"]["extra"]
    assert extra["additionalProperties"] == {"description": "Any value"}
    assert schemas["Tree"]["properties"]["children"]["items"] == {
        "$ref": "#/components/schemas/Tree"
    }


def test_strict_true_forbids_unknown_fields_of_a_lenient_struct(full: dict) -> None:
    # NOTE: Circle does not forbid unknown fields itself; Send does.
    assert "additionalProperties" not in full["components"]["schemas"]["Circle"]
    assert full["components"]["schemas"]["Send"]["additionalProperties"] is False
    tree = full["components"]["schemas"]["Tree"]
    assert "additionalProperties" not in tree


def test_strict_false_allows_unknown_fields_of_a_strict_struct(tmp_path: Path) -> None:
    text = (APPS / "full.toml").read_text().replace("strict = true", "strict = false")
    (tmp_path / "pachinko.toml").write_text(text)
    (tmp_path / "fx_contract.py").write_text((APPS / "fx_contract.py").read_text())
    document = asyncapi_document(load_app(tmp_path / "pachinko.toml"))
    payload = document["channels"]["chat"]["messages"]["send"]["payload"]["properties"]["payload"]
    # NOTE: only the lenient variant is used, so it takes the Struct's own name.
    assert payload == {"$ref": "#/components/schemas/Send"}
    assert "additionalProperties" not in document["components"]["schemas"]["Send"]
    assert "Send.lenient" not in document["components"]["schemas"]


def test_resource_class_handlers_are_described_with_their_annotations(full: dict) -> None:
    messages = full["channels"]["chat"]["messages"]
    assert messages["room.topic"]["summary"] == "Set the topic (handled by the resource)"
    topic = messages["room.topic"]["payload"]["properties"]["payload"]
    # NOTE: the document states what dispatch enforces, and payload_type_of() resolves
    # handler annotations without their Annotated metadata (max_length=80 is dropped).
    assert topic == {"type": "string"}
    kick = messages["kick"]["payload"]["properties"]["payload"]
    assert kick == {"enum": ["abuse", "spam"]}
    assert "chat.ping" in full["operations"]
    pong = messages["ping.reply"]["payload"]["properties"]["payload"]
    assert pong == {"type": "object", "additionalProperties": {"type": "number"}}


def test_server_frames_are_send_operations(full: dict) -> None:
    operations = full["operations"]
    for name in ("error", "presence.join", "presence.leave", "room.resync"):
        assert operations[f"chat.{name}"]["action"] == "send"
    error = full["components"]["messages"]["error"]["payload"]["properties"]["payload"]
    assert error["properties"]["code"]["enum"] == list(ERROR_CODES)
    resync = full["components"]["messages"]["room.resync"]["payload"]
    assert resync["properties"]["payload"]["properties"]["reason"]["enum"] == [
        "gap",
        "reset",
        "rewind",
    ]
    assert "id" not in resync["properties"]


def test_presence_frames_are_left_out_when_no_room_has_presence(tmp_path: Path) -> None:
    text = (APPS / "full.toml").read_text().replace("presence = true", "presence = false")
    (tmp_path / "pachinko.toml").write_text(text)
    (tmp_path / "fx_contract.py").write_text((APPS / "fx_contract.py").read_text())
    document = asyncapi_document(load_app(tmp_path / "pachinko.toml"))
    assert "presence.join" not in document["components"]["messages"]
    assert "chat.presence.join" not in document["operations"]
    assert "chat.room.resync" in document["operations"]


def test_yaml_is_chosen_by_suffix_and_equals_the_json(tmp_path: Path, cli) -> None:
    assert cli("asyncapi", "-o", str(tmp_path / "api.yml")).returncode == EXIT_OK
    as_json = cli("asyncapi", "--format", "json")
    text = (tmp_path / "api.yml").read_text()
    assert not text.lstrip().startswith("{")
    assert "&id" not in text
    assert yaml.safe_load(text) == json.loads(as_json.stdout)


def test_an_invalid_manifest_prints_its_diagnostics_and_exits_1(tmp_path: Path, cli) -> None:
    (tmp_path / "pachinko.toml").write_text("version = 1\n[app]\nnmae = 'x'\n")
    done = cli("asyncapi", cwd=tmp_path)
    assert done.returncode == EXIT_INVALID
    assert "error[unknown-key]: unknown key 'nmae' in [app]" in done.stdout
