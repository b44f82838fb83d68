"""`[[routes.subprotocols]]` in the AsyncAPI document: a channel each, and no drift from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pachinko.contract.asyncapi import asyncapi_document, render
from pachinko.contract.drift import drift
from pachinko.contract.routes import load_app
from pachinko.loader import examine

ROOT = Path(__file__).resolve().parents[3]
VERSIONED = ROOT / "tests" / "e2e" / "apps" / "versioned" / "pachinko.toml"


@pytest.fixture(scope="module")
def document() -> dict:
    return asyncapi_document(load_app(VERSIONED))


def _payload_ref(channel: dict, message: str) -> str:
    return channel["messages"][message]["payload"]["properties"]["payload"]["$ref"]


def test_each_subprotocol_is_a_channel_of_the_route_address(document: dict) -> None:
    channels = document["channels"]
    assert list(channels) == ["chat", "chat.chat.v1", "chat.chat.v2", "chat.chat.v2.msgpack"]
    assert {channel["address"] for channel in channels.values()} == {"/chat"}
    marked = [c.get("x-pachinko-subprotocol") for c in channels.values()]
    assert marked == [None, "chat.v1", "chat.v2", "chat.v2.msgpack"]
    header = channels["chat.chat.v2"]["bindings"]["ws"]["headers"]["properties"]
    assert header["Sec-WebSocket-Protocol"]["examples"] == ["chat.v2"]


def test_a_subprotocol_channel_has_its_own_messages(document: dict) -> None:
    channels = document["channels"]
    assert _payload_ref(channels["chat"], "send").endswith("/SendV1")
    assert _payload_ref(channels["chat.chat.v1"], "send").endswith("/SendV1")
    assert _payload_ref(channels["chat.chat.v2"], "send").endswith("/SendV2")
    summaries = [channels[c]["messages"]["send"]["summary"] for c in ("chat", "chat.chat.v2")]
    assert summaries == ["Post a message (v1: text)", "Post a message (v2: body and format)"]


def test_a_subprotocol_with_its_own_codec_says_so_in_every_frame(document: dict) -> None:
    binary = document["channels"]["chat.chat.v2.msgpack"]["messages"]
    assert {m["contentType"] for m in binary.values()} == {"application/msgpack"}
    text = document["channels"]["chat.chat.v2"]["messages"]
    assert all("contentType" not in m for m in text.values())
    assert document["defaultContentType"] == "application/json"


def test_every_subprotocol_channel_has_its_operations(document: dict) -> None:
    receives = {
        op["channel"]["$ref"].rpartition("/")[2]
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    assert receives == set(document["channels"])


def test_drift_compares_the_channel_of_clients_without_a_subprotocol(tmp_path: Path) -> None:
    document = asyncapi_document(load_app(VERSIONED))
    # NOTE: a hand-written document that knows nothing of the subprotocols.
    document["channels"] = {"chat": document["channels"]["chat"]}
    document["operations"] = {
        key: op
        for key, op in document["operations"].items()
        if op["channel"]["$ref"] == "#/channels/chat"
    }
    path = tmp_path / "asyncapi.yaml"
    path.write_text(render(document, "yaml"))
    result = examine(VERSIONED)
    assert result.plan is not None
    assert drift(result.plan, path) == ()
