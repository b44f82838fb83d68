"""`[[routes.subprotocols]]`: resolved into the runtime's `Subprotocol` records, or reported."""

from __future__ import annotations

import sys

from pachinko.loader import check, plan
from pachinko.loader.plugins import CODECS, Registry
from pachinko.manifest import load
from pachinko.runtime.dispatch import MessageSpec, Subprotocol

ROOMS = """
import msgspec

from pachinko.runtime.resource import WebSocketResource


class SendV2(msgspec.Struct):
    body: str


class Room(WebSocketResource):
    async def on_send(self, conn, payload):
        return None


class RoomV2(WebSocketResource):
    async def on_send(self, conn, payload: SendV2):
        return None


async def send_v3(conn, payload):
    return None
"""


def test_subprotocols_become_records_with_their_own_messages(project) -> None:
    mod = project.module(ROOMS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        resource = "{mod}:Room"

        [routes.messages.send]

        [[routes.subprotocols]]
        name = "chat.v1"

        [[routes.subprotocols]]
        name = "chat.v2"
        codec = "msgpack"
        resource = "{mod}:RoomV2"

        [[routes.subprotocols]]
        name = "chat.v3"

        [routes.subprotocols.messages.send]
        handler = "{mod}:send_v3"
        payload = "{mod}:SendV2"
        reply = "sent"
    """)
    (route,) = plan(load(path)).routes
    module = sys.modules[mod]
    assert route.subprotocols == (
        Subprotocol("chat.v1"),
        Subprotocol("chat.v2", "msgpack", module.RoomV2),
        Subprotocol(
            "chat.v3",
            messages=(MessageSpec("send", module.send_v3, module.SendV2, "sent", True),),
        ),
    )
    line = ROOMS.splitlines().index("async def send_v3(conn, payload):") + 1
    assert route.subprotocol_info["chat.v3"]["send"].source == f"{mod}.py:{line}"


def test_every_subprotocol_problem_of_a_route_is_reported_at_once(project) -> None:
    mod = project.module(ROOMS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"

        [[routes.subprotocols]]
        name = "pachinko.json"

        [[routes.subprotocols]]
        name = "chat.v2"
        codec = "yaml"

        [[routes.subprotocols]]
        name = "chat.v2"
        resource = "{mod}:Missing"
    """)
    found = [(d.line, d.code) for d in check(path)]
    assert found == [
        (6, "reserved-subprotocol"),
        (10, "unknown-plugin"),
        (13, "duplicate-subprotocol"),
        (14, "import-failed"),
    ]


def test_a_codec_plugins_own_subprotocol_is_reserved_too(project) -> None:
    # NOTE: the fake distribution of tests/plugins, which the test command installs.
    assert "fakejson" in Registry().names(CODECS)
    path = project.manifest("""
        [[routes]]
        path = "/chat"

        [[routes.subprotocols]]
        name = "pachinko.fakejson"
    """)
    (diagnostic,) = check(path)
    assert diagnostic.code == "reserved-subprotocol"
    assert diagnostic.message == "subprotocol 'pachinko.fakejson' is codec 'fakejson''s own"


def test_a_subprotocol_handler_overriding_its_resource_warns(project) -> None:
    mod = project.module(ROOMS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"

        [[routes.subprotocols]]
        name = "chat.v2"
        resource = "{mod}:RoomV2"

        [routes.subprotocols.messages.send]
        handler = "{mod}:send_v3"
    """)
    (warning,) = check(path)
    assert (warning.severity, warning.code, warning.line) == ("warning", "handler-override", 10)
    assert warning.message == (f"handler '{mod}:send_v3' overrides {mod}:RoomV2.on_send for 'send'")
