"""Checks of resolved objects: coroutine functions, signatures, payload types, apps."""

from __future__ import annotations

import dataclasses
import functools

import falcon
import falcon.asgi
import msgspec
import pytest

from pachinko.loader.checks import (
    check_callable,
    check_http_app,
    check_payload_type,
    check_resource,
    is_async,
)
from pachinko.manifest.diagnostics import Problem
from pachinko.runtime.resource import WebSocketResource


async def handler(conn, payload):
    return payload


def sync_handler(conn, payload):
    return payload


async def worker(ctx, *, room, limit=10):
    return None


async def open_worker(ctx, **args):
    return None


def _code(call) -> str:
    with pytest.raises(Problem) as caught:
        call()
    return caught.value.code


def test_partial_of_a_coroutine_function_is_async() -> None:
    assert is_async(functools.partial(functools.partial(handler)))
    assert not is_async(sync_handler)
    assert not is_async(lambda: None)


def test_handler_must_be_async_and_take_conn_and_payload() -> None:
    check_callable(handler, "m:handler", "handler", "conn, payload")
    assert _code(lambda: check_callable(sync_handler, "m:s", "handler", "conn, payload")) == (
        "not-async"
    )
    bound = functools.partial(handler, None)
    assert _code(lambda: check_callable(bound, "m:b", "handler", "conn, payload")) == (
        "bad-signature"
    )


def test_worker_args_must_bind_as_keywords() -> None:
    check_callable(worker, "m:w", "worker", "ctx, **args", {"room": "a"})
    check_callable(open_worker, "m:w", "worker", "ctx, **args", {"anything": 1})
    with pytest.raises(Problem) as caught:
        check_callable(worker, "m:w", "worker", "ctx, **args", {"room": "a", "lmit": 2})
    assert caught.value.code == "bad-signature"
    assert "'lmit'" in caught.value.message
    assert caught.value.key == ("args", "lmit")
    with pytest.raises(Problem) as caught:
        check_callable(worker, "m:w", "worker", "ctx, **args", {})
    assert "missing a required argument: 'room'" in caught.value.message
    assert caught.value.key is None


@dataclasses.dataclass
class Point:
    x: int


class Plain:
    pass


class Holder(msgspec.Struct):
    items: list[Plain]


@pytest.mark.parametrize("good", [int, object, set[object], Point, dict[str, list[int]]])
def test_types_msgspec_decodes_are_accepted(good: object) -> None:
    check_payload_type(good, "m:T")


@pytest.mark.parametrize("bad", [Plain, Holder, handler, 3, dict[str, Plain]])
def test_types_msgspec_cannot_decode_are_rejected(bad: object) -> None:
    assert _code(lambda: check_payload_type(bad, "m:T")) == "bad-payload-type"


def test_resource_must_subclass_websocket_resource() -> None:
    class Room(WebSocketResource):
        pass

    check_resource(Room, "m:Room")
    assert _code(lambda: check_resource(Plain, "m:Plain")) == "bad-resource"
    assert _code(lambda: check_resource(Room(), "m:room")) == "bad-resource"


def test_http_app_is_an_asgi_app_or_a_zero_argument_factory() -> None:
    called = []

    def factory() -> falcon.asgi.App:
        called.append(True)
        return falcon.asgi.App()

    check_http_app(falcon.asgi.App(), "m:app")
    check_http_app(factory, "m:factory")
    check_http_app(falcon.asgi.App, "m:App")
    assert called == []  # NOTE: checking never starts the user's app.
    assert _code(lambda: check_http_app(falcon.App(), "m:wsgi")) == "bad-http-app"
    assert _code(lambda: check_http_app(42, "m:n")) == "bad-http-app"
    assert _code(lambda: check_http_app(lambda settings: None, "m:f")) == "bad-http-app"
    assert _code(lambda: check_http_app(Plain, "m:Plain")) == "bad-http-app"
