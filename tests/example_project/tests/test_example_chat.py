"""The example project's tests: only the fixtures of pachinko's pytest plugin."""

from __future__ import annotations

from collections.abc import Callable

from pachinko.testing import WebSocketSimulator, WebSocketTestClient


async def test_greet_replies_with_the_message_id(pachinko_simulator: WebSocketSimulator) -> None:
    async with pachinko_simulator.connect("/ws/hello") as conn:
        await conn.send_message("greet", {"name": "Ada"}, id=1)
        reply = await conn.receive_json()
    assert reply == {"type": "greet.reply", "payload": "Hello, Ada!", "id": 1}


async def test_a_bad_payload_gets_an_error_frame(pachinko_simulator: WebSocketSimulator) -> None:
    async with pachinko_simulator.connect("/ws/hello") as conn:
        await conn.send_message("greet", {"name": 42}, id=2)
        error = await conn.receive_json()
    assert error["type"] == "error"
    assert error["payload"]["code"] == "invalid_payload"
    assert error["id"] == 2


async def test_a_shout_reaches_everyone_in_the_lobby(
    pachinko_simulator: WebSocketSimulator,
) -> None:
    async with (
        pachinko_simulator.connect("/ws/lobby") as alice,
        pachinko_simulator.connect("/ws/lobby") as bob,
    ):
        assert (await alice.receive_json())["type"] == "presence.join"
        await bob.send_message("shout", {"name": "hi"})
        assert await alice.receive_json() == {"type": "shouted", "payload": "HI"}
        assert await bob.receive_json() == {"type": "shouted", "payload": "HI"}


async def test_the_same_over_a_real_socket(
    pachinko_client: Callable[..., WebSocketTestClient],
) -> None:
    async with pachinko_client("/ws/hello") as conn:
        await conn.send_message("greet", {"name": "Grace"}, id=3)
        assert (await conn.receive_json())["payload"] == "Hello, Grace!"
        await conn.close()
    assert conn.close_code == 1000
