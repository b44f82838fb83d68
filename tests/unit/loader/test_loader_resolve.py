"""Stage 2 as a whole: a manifest becomes a Plan, or every problem is reported."""

from __future__ import annotations

import sys

import pytest

from pachinko.errors import ManifestError
from pachinko.loader import check, examine, plan
from pachinko.manifest import load

HANDLERS = """
import functools

import msgspec

from pachinko.runtime.resource import WebSocketResource, handles_message


class Send(msgspec.Struct):
    text: str


async def send(conn, payload):
    return payload


async def _tagged(conn, payload, tag):
    return tag


tagged = functools.partial(_tagged, tag="x")


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@logged
async def decorated(conn, payload):
    return payload


class Callable:
    async def __call__(self, conn, payload):
        return payload


instance = Callable()


async def hook(conn, event):
    return None


async def poll(ctx, limit=10):
    return None


class Room(WebSocketResource):
    async def on_ping(self, conn, payload):
        return None

    @handles_message("sendMessage")
    async def post(self, conn, payload):
        return None
"""


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate(HANDLERS.splitlines(), 1) if text in line)


def test_valid_manifest_becomes_a_plan_with_defaults(project) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [app]
        mount = "/ws/"

        [[rooms]]
        name = "chat:{{room}}"

        [hooks]
        before_connect = ["{mod}:hook"]

        [[routes]]
        path = "/chat/{{room}}"
        join = ["chat:{{room}}", "chat:lobby"]
        resource = "{mod}:Room"
        hooks.before_receive = ["{mod}:hook"]

        [routes.messages.send]
        handler = "{mod}:send"
        payload = "{mod}:Send"

        [routes.messages.ping]
        [routes.messages.sendMessage]
        reply = "posted"

        [[routes.workers]]
        target = "{mod}:poll"
        args = {{ limit = 3 }}

        [[workers]]
        name = "ticker"
        target = "{mod}:poll"
        restart = "always"
    """)
    result = plan(load(path))
    assert result.app_name == "chatapp"
    assert result.codec == "json"
    assert {"json", "msgpack"} <= set(result.codecs)
    assert result.backend.name == "memory"
    assert result.backend.distribution == "falcon-pachinko"
    assert result.warnings == ()
    (route,) = result.routes
    assert route.path == "/ws/chat/{room}"
    send, ping, post = route.messages
    assert send.payload_type.__name__ == "Send"
    assert send.reply == "send.reply"
    assert route.info["send"].source == f"{mod}.py:{_line_of('async def send')}"
    assert ping.handler is None
    assert ping.payload_type is None  # not given: the handler's annotation decides
    assert route.info["ping"].source == f"{mod}.py:{_line_of('async def on_ping')}"
    assert post.reply == "posted"
    assert route.workers[0].args == {"limit": 3}
    assert set(route.hooks) == {"before_receive"}
    assert set(result.hooks) == {"before_connect"}
    assert result.workers[0].restart == "always"


@pytest.mark.parametrize("name", ["tagged", "decorated", "instance"])
def test_partials_decorated_and_callable_objects_are_accepted(project, name: str) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        [routes.messages.send]
        handler = "{mod}:{name}"
    """)
    assert check(path) == ()


def test_six_independent_mistakes_are_all_reported(project) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [app]
        codec = "xml"

        [[routes]]
        path = "/chat/{{room}}"
        join = ["chat:{{rom}}"]

        [routes.messages.send]
        handler = "{mod}:sned"

        [routes.messages.ping]
        handler = "{mod}:send"
        payload = "{mod}:Nope"

        [[routes]]
        path = "/chat/{{room}}"

        [[workers]]
        name = "ticker"
        target = "{mod}:poll"
        args = {{ lmit = 3 }}
    """)
    codes = [(d.line, d.code) for d in check(path)]
    assert codes == [
        (3, "unknown-plugin"),
        (7, "unknown-placeholder"),
        (10, "import-failed"),
        (14, "import-failed"),
        (17, "duplicate-path"),
        (22, "bad-signature"),
    ]


def test_plan_raises_with_errors_and_warnings_in_file_order(project) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        join = ["nowhere"]
        [routes.messages.send]
        handler = "{mod}:missing"
    """)
    with pytest.raises(ManifestError) as caught:
        plan(load(path))
    assert [(d.severity, d.code) for d in caught.value.diagnostics] == [
        ("warning", "unknown-room"),
        ("error", "import-failed"),
    ]


def test_warnings_alone_still_give_a_plan(project) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        join = ["nowhere"]
        resource = "{mod}:Room"
        [routes.messages.ping]
        handler = "{mod}:send"
    """)
    result = examine(path)
    assert result.plan is not None
    assert [d.code for d in result.plan.warnings] == ["unknown-room", "handler-override"]
    assert (result.errors, result.warnings) == (0, 2)


def test_resource_method_must_be_async(project) -> None:
    mod = project.module("""
        from pachinko.runtime.resource import WebSocketResource

        class Room(WebSocketResource):
            def on_ping(self, conn, payload):
                return None
    """)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        resource = "{mod}:Room"
        [routes.messages.ping]
    """)
    (diagnostic,) = check(path)
    assert diagnostic.code == "not-async"
    assert f"'{mod}:Room.on_ping'" in diagnostic.message


def test_manifest_folder_is_put_first_on_sys_path_once(project) -> None:
    mod = project.module(HANDLERS)
    path = project.manifest(f"""
        [[routes]]
        path = "/chat"
        [routes.messages.send]
        handler = "{mod}:send"
    """)
    check(path)
    check(path)
    assert sys.path[0] == str(project.folder)
    assert sys.path.count(str(project.folder)) == 1


def test_app_name_and_http_app_are_resolved(project) -> None:
    mod = project.module("""
        import falcon.asgi

        app = falcon.asgi.App()

        def create_app():
            return falcon.asgi.App()
    """)
    for target in ("app", "create_app"):
        path = project.manifest(f"""
            [app]
            name = "chat"
            http = "{mod}:{target}"
        """)
        result = plan(load(path))
        assert result.app_name == "chat"
        assert result.http_app is not None


def test_duplicate_route_names_are_reported(project) -> None:
    path = project.manifest("""
        [[routes]]
        path = "/a"
        name = "chat"
        [[routes]]
        path = "/b"
        name = "chat"
    """)
    (diagnostic,) = check(path)
    assert (diagnostic.line, diagnostic.code) == (7, "duplicate-name")
    assert diagnostic.hint == "the first is at line 4"


def test_a_bad_mount_is_reported_once_not_per_route(project) -> None:
    path = project.manifest("""
        [app]
        mount = "ws"
        [[routes]]
        path = "/a"
        [[routes]]
        path = "/b"
    """)
    assert [d.code for d in check(path)] == ["bad-path"]
