"""Application subprotocols by hand wiring: selection in the client's order, per-variant tables."""

from __future__ import annotations

import msgspec
import pytest

import pachinko
from pachinko import Connection, MessageSpec, Subprotocol, WebSocketResource, handles_message
from pachinko.testing import WebSocketSimulator


class SayV1(msgspec.Struct):
    text: str


class SayV2(msgspec.Struct):
    text: str
    lang: str


async def say_v1(conn: Connection, payload: SayV1) -> str:
    return f"v1 {payload.text}"


async def say_v2(conn: Connection, payload: SayV2) -> str:
    return f"v2 {payload.text} ({payload.lang})"


async def ping(conn: Connection, payload: object) -> str:
    return f"pong via {conn.subprotocol}"


def versioned_app() -> pachinko.App:
    """chat.v1 and chat.v2 side by side: v2 replaces `say`, both keep `ping`."""
    router = pachinko.WebSocketRouter(allowed_origins=["*"])
    router.add_route(
        "/chat",
        messages=[MessageSpec("say", say_v1, strict=False), MessageSpec("ping", ping)],
        subprotocols=[
            Subprotocol("chat.v1"),
            Subprotocol("chat.v2", messages=(MessageSpec("say", say_v2),)),
        ],
    )
    return pachinko.App(router=router)


@pytest.mark.parametrize(
    ("offered", "chosen", "answer"),
    [
        (["chat.v2", "chat.v1"], "chat.v2", "v2 hi (en)"),
        (["chat.v1", "chat.v2"], "chat.v1", "v1 hi"),
        (["chat.v3", "chat.v2"], "chat.v2", "v2 hi (en)"),
        (["pachinko.json", "chat.v2"], "pachinko.json", "v1 hi"),
        (["chat.v3"], None, "v1 hi"),
        ([], None, "v1 hi"),
    ],
)
async def test_the_first_offered_name_the_route_speaks_wins(
    offered: list[str], chosen: str | None, answer: str
) -> None:
    async with (
        WebSocketSimulator(versioned_app()) as sim,
        sim.connect("/chat", subprotocols=offered) as conn,
    ):
        assert conn.subprotocol == chosen
        await conn.send_message("say", {"text": "hi", "lang": "en"}, id=1)
        assert (await conn.receive_json())["payload"] == answer
        await conn.send_message("ping", id=2)
        assert (await conn.receive_json())["payload"] == f"pong via {chosen}"


async def test_each_subprotocol_validates_with_its_own_schema() -> None:
    async with (
        WebSocketSimulator(versioned_app()) as sim,
        sim.connect("/chat", subprotocols=["chat.v2"]) as conn,
    ):
        await conn.send_message("say", {"text": "hi"}, id=1)
        error = await conn.receive_json()
        assert error["payload"]["code"] == "invalid_payload"
        assert "lang" in error["payload"]["message"]


class ChatV1(WebSocketResource):
    @handles_message("say")
    async def say(self, conn: Connection, payload: SayV1) -> str:
        return f"resource v1 {payload.text}"


class ChatV2(WebSocketResource):
    subprotocols = ("chat.v2",)

    @handles_message("say")
    async def say(self, conn: Connection, payload: SayV2) -> str:
        return f"resource v2 {payload.lang}"


async def test_a_resource_naming_its_subprotocols_joins_the_route_of_its_path() -> None:
    router = pachinko.WebSocketRouter(allowed_origins=["*"])
    first = router.add_route("/chat", ChatV1)
    assert router.add_route("/chat", ChatV2) is first
    async with WebSocketSimulator(pachinko.App(router=router)) as sim:
        async with sim.connect("/chat", subprotocols=["chat.v2"]) as conn:
            await conn.send_message("say", {"text": "x", "lang": "fr"}, id=1)
            assert (await conn.receive_json())["payload"] == "resource v2 fr"
        async with sim.connect("/chat") as conn:
            await conn.send_message("say", {"text": "x"}, id=1)
            assert (await conn.receive_json())["payload"] == "resource v1 x"
            await conn.send_message("say", {"text": "x", "lang": "fr"}, id=2)
            assert (await conn.receive_json())["payload"]["code"] == "invalid_payload"


def test_the_same_path_twice_without_subprotocols_is_an_error() -> None:
    router = pachinko.WebSocketRouter()
    router.add_route("/chat", ChatV1)
    with pytest.raises(ValueError, match="duplicate route path"):
        router.add_route("/chat", ChatV1)


@pytest.mark.parametrize(
    ("subprotocol", "message"),
    [
        (Subprotocol("pachinko.json"), "already speaks"),
        (Subprotocol("chat", codec="yaml"), "unknown codec 'yaml'"),
    ],
)
def test_bad_subprotocols_are_refused_when_wired(subprotocol: Subprotocol, message: str) -> None:
    router = pachinko.WebSocketRouter()
    with pytest.raises(ValueError, match=message):
        router.add_route("/chat", messages={"ping": ping}, subprotocols=[subprotocol])
