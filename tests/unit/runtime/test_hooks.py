"""Hooks: onion order, what they see, and how Reject and crashes close the connection."""

from __future__ import annotations

from typing import Any

import pytest

import pachinko
from pachinko import Connection, HookEvent, Reject, WebSocketResource
from pachinko.testing import HandshakeRejected, WebSocketSimulator


def recorder(calls: list[str], name: str) -> Any:
    async def hook(conn: Connection, event: HookEvent) -> None:
        detail = event.message.type if event.message else event.close_code
        error = type(event.error).__name__ if event.error else None
        calls.append(f"{name}:{event.kind}:{detail}:{error}")

    return hook


def layered_app(calls: list[str]) -> pachinko.App:
    events = ("before_connect", "after_connect", "before_receive", "after_receive")
    events += ("before_disconnect",)

    class Resource(WebSocketResource):
        async def before_receive(self, conn: Connection, event: HookEvent) -> None:
            calls.append(f"resource:before_receive:{event.message.type}")

        async def after_receive(self, conn: Connection, event: HookEvent) -> None:
            calls.append(f"resource:after_receive:{event.message.type}")

        async def on_ping(self, conn: Connection, payload: object) -> str:
            calls.append("handler:ping")
            return "pong"

        async def on_fail(self, conn: Connection, payload: object) -> None:
            calls.append("handler:fail")
            raise ValueError("nope")

    router = pachinko.WebSocketRouter(
        hooks={event: (recorder(calls, "global"),) for event in events},
        allowed_origins=["*"],
    )
    router.add_route(
        "/ws", Resource, hooks={event: (recorder(calls, "route"),) for event in events}
    )
    return pachinko.App(router=router)


async def test_hooks_run_in_onion_order_around_the_handler() -> None:
    calls: list[str] = []
    async with WebSocketSimulator(layered_app(calls)) as sim, sim.connect("/ws") as conn:
        await conn.send_message("ping", id=1)
        assert (await conn.receive_json())["payload"] == "pong"
        await conn.close(1000)
        await conn.wait_app()
    assert calls == [
        "global:before_connect:None:None",
        "route:before_connect:None:None",
        "route:after_connect:None:None",
        "global:after_connect:None:None",
        "global:before_receive:ping:None",
        "route:before_receive:ping:None",
        "resource:before_receive:ping",
        "handler:ping",
        "resource:after_receive:ping",
        "route:after_receive:ping:None",
        "global:after_receive:ping:None",
        "global:before_disconnect:1000:None",
        "route:before_disconnect:1000:None",
    ]


async def test_after_hooks_run_and_see_the_error_when_the_handler_raises() -> None:
    calls: list[str] = []
    async with WebSocketSimulator(layered_app(calls)) as sim, sim.connect("/ws") as conn:
        await conn.send_message("fail", id=2)
        error = await conn.receive_json()
        assert error["payload"]["code"] == "internal_error"
    assert "route:after_receive:fail:ValueError" in calls
    assert "global:after_receive:fail:ValueError" in calls


def single_hook_app(event: str, hook: Any) -> pachinko.App:
    async def echo(conn: Connection, payload: object) -> object:
        return payload

    router = pachinko.WebSocketRouter(allowed_origins=["*"])
    router.add_route("/ws", messages={"echo": echo}, hooks={event: (hook,)})
    return pachinko.App(router=router)


async def test_reject_without_code_in_before_connect_is_http_403() -> None:
    async def refuse(conn: Connection, event: HookEvent) -> None:
        raise Reject(reason="no token")

    async with WebSocketSimulator(single_hook_app("before_connect", refuse)) as sim:
        with pytest.raises(HandshakeRejected) as refused:
            await sim.connect("/ws").open()
    assert refused.value.status == 403


async def test_reject_with_an_application_code_accepts_then_closes_with_it() -> None:
    async def refuse(conn: Connection, event: HookEvent) -> None:
        raise Reject(4401, "token expired")

    app = single_hook_app("before_connect", refuse)
    async with WebSocketSimulator(app) as sim, sim.connect("/ws") as conn:
        assert await conn.wait_closed() == 4401
        assert conn.close_reason == "token expired"


@pytest.mark.parametrize(("raised", "code"), [(Reject(), 1008), (Reject(4009), 4009)])
async def test_reject_in_before_receive_closes_with_its_code_or_1008(
    raised: Reject, code: int
) -> None:
    async def refuse(conn: Connection, event: HookEvent) -> None:
        raise raised

    app = single_hook_app("before_receive", refuse)
    async with WebSocketSimulator(app) as sim, sim.connect("/ws") as conn:
        await conn.send_message("echo", 1)
        assert await conn.wait_closed() == code


async def test_a_crashing_hook_closes_with_1011() -> None:
    async def crash(conn: Connection, event: HookEvent) -> None:
        raise RuntimeError("hook bug")

    app = single_hook_app("after_receive", crash)
    async with WebSocketSimulator(app) as sim, sim.connect("/ws") as conn:
        await conn.send_message("echo", 1)
        assert (await conn.receive_json())["payload"] == 1
        assert await conn.wait_closed() == 1011


def test_reject_codes_must_be_application_codes() -> None:
    with pytest.raises(ValueError, match="4000-4999"):
        Reject(1000)


async def test_a_crashing_after_connect_hook_closes_with_1011() -> None:
    async def crash(conn: Connection, event: HookEvent) -> None:
        raise RuntimeError("hook bug")

    app = single_hook_app("after_connect", crash)
    async with WebSocketSimulator(app) as sim, sim.connect("/ws") as conn:
        assert await conn.wait_closed() == 1011
