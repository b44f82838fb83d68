"""The testing kit against real servers: the socket client, and the simulator's fidelity."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import pachinko
from pachinko.testing import (
    BaseClient,
    HandshakeRejected,
    LiveServer,
    ReceiveTimeout,
    WebSocketClosed,
    WebSocketSimulator,
    WebSocketTestClient,
)

ROOT = Path(__file__).parents[2]
E2E = Path(__file__).parent / "apps" / "pachinko.toml"
DEMO = ROOT / "pachinko.toml"
KIT_APPS = ROOT / "tests" / "unit" / "testing" / "apps"
STRICT = KIT_APPS / "strict" / "pachinko.toml"
EXAMPLE = ROOT / "tests" / "example_project"

Opener = Callable[..., BaseClient]


class Session:
    """One scenario's clients, whichever kind; its transcript compares across kinds."""

    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.clients: list[BaseClient] = []
        self.refusals: list[tuple[str, int]] = []

    async def connect(self, path: str, **options: object) -> BaseClient:
        client = self.opener(path, **options)
        self.clients.append(client)
        return await client.open()

    async def refused(self, path: str, **options: object) -> int:
        with pytest.raises(HandshakeRejected) as refused:
            await self.connect(path, **options)
        self.refusals.append((path, refused.value.status))
        return refused.value.status

    async def close_all(self) -> None:
        for client in self.clients:
            await client.aclose()

    def transcript(self) -> list[str]:
        """Every client's frames, connection ids replaced by their order of appearance."""
        lines = [f"refused {path} {status}" for path, status in self.refusals]
        for n, client in enumerate(self.clients):
            for frame in client.frames:
                # NOTE: close reasons differ by design (uvicorn words its own 1009); codes must not.
                shown = frame.code if frame.kind == "close" else frame.payload
                data = shown.hex() if isinstance(shown, bytes) else json.dumps(shown)
                lines.append(f"client{n} {frame.direction} {frame.kind} {data}")
        ids: dict[str, str] = {}
        return [
            re.sub(r"\b[0-9a-f]{32}\b", lambda m: ids.setdefault(m[0], f"<conn{len(ids)}>"), line)
            for line in lines
        ]


Scenario = Callable[[Session], Awaitable[None]]


async def on_simulator(manifest: Path, scenario: Scenario) -> Session:
    async with WebSocketSimulator(manifest) as sim:
        session = Session(sim.connect)
        try:
            await scenario(session)
        finally:
            await session.close_all()
    return session


async def on_server(manifest: Path, scenario: Scenario) -> Session:
    with LiveServer(pachinko.build(manifest)) as server:
        session = Session(lambda path, **kw: WebSocketTestClient(server.url + path, **kw))
        try:
            await scenario(session)
        finally:
            await session.close_all()
    return session


async def chat_scenario(s: Session) -> None:
    a = await s.connect("/ws/chat/agree")
    await a.send_message("whoami", id=1)
    await a.receive_json()
    b = await s.connect("/ws/chat/agree")
    assert (await a.receive_json())["type"] == "presence.join"
    await b.send_message("set_user", "bob")
    await b.send_message("say", {"text": "hi"})
    await a.receive_json()
    await b.receive_json()
    await b.send_message("add", {"a": 1, "b": "x"}, id=2)
    await b.send_text("{")
    await b.send_json({"payload": 1})
    await b.send_message("nope", id=3)
    await b.send_message("boom", id=4)
    await b.send_message("twice", id=5)
    for _ in range(7):
        await b.receive_json()
    await b.close(4100, "done")
    assert (await a.receive_json())["type"] == "presence.leave"
    await s.refused("/ws/items/1?deny=1")
    await s.refused("/ws/chat/x", origin="https://evil.example")
    await s.refused("/ws/nowhere")
    raw = await s.connect("/ws/raw", subprotocols=["nope", "pachinko.msgpack"])
    await raw.send_message("echo", [1, "two"], id=6)
    await raw.receive_media()
    await raw.send_bytes(b"\x00\xff")
    assert await raw.receive_bytes() == b"\x00\xff"
    small = [await s.connect("/ws/small") for _ in range(2)]
    assert (await small[1].receive_json())["payload"]["code"] == "room_full"
    await a.close()


async def limits_scenario(s: Session) -> None:
    big = await s.connect("/echo")
    await big.send_message("echo", "fits", id=1)
    await big.receive_json()
    await big.send_text("x" * 65)
    assert await big.wait_closed() == 1009
    abuser = await s.connect("/echo")
    for i in range(6):
        await abuser.send_message("echo", i)
    assert await abuser.wait_closed() == 1008


async def demo_scenario(s: Session) -> None:
    ada = await s.connect("/ws/chat/demo?nick=ada")
    bob = await s.connect("/ws/chat/demo?nick=bob")
    assert (await ada.receive_json())["payload"]["user"] == "bob"
    await bob.send_message("say", {"text": "hello"}, id=1)
    said = {(await bob.receive_json())["type"] for _ in range(2)}
    assert said == {"said", "say.ok"}
    assert (await ada.receive_json())["payload"] == {"nick": "bob", "text": "hello"}
    await bob.send_message("say", {"text": ""}, id=2)
    assert (await bob.receive_json())["payload"]["code"] == "invalid_payload"
    await bob.send_message("nick", {"name": "robert"}, id=3)
    await bob.receive_json()
    await bob.receive_json()
    assert (await ada.receive_json())["payload"] == {"from": "bob", "to": "robert"}
    await bob.close()
    assert (await ada.receive_json())["payload"]["user"] == "robert"


@pytest.mark.parametrize(
    ("manifest", "scenario"),
    [
        pytest.param(E2E, chat_scenario, id="e2e-chat"),
        pytest.param(STRICT, limits_scenario, id="limits"),
        pytest.param(
            DEMO,
            demo_scenario,
            id="demo",
            marks=pytest.mark.skipif(not DEMO.is_file(), reason="no demo manifest"),
        ),
    ],
)
async def test_the_simulator_agrees_with_a_real_server(manifest: Path, scenario: Scenario) -> None:
    simulated = (await on_simulator(manifest, scenario)).transcript()
    served = (await on_server(manifest, scenario)).transcript()
    assert simulated == served
    assert len(served) > 10


async def test_the_test_client_reads_replies_errors_and_close_codes() -> None:
    with LiveServer(pachinko.build(E2E)) as server:
        async with WebSocketTestClient(server.url + "/ws/chat/client") as conn:
            await conn.send_message("add", {"a": 1, "b": 2}, id=9)
            assert await conn.receive_json() == {
                "type": "add.reply",
                "payload": {"sum": 3},
                "id": 9,
            }
            await conn.send_message("boom", id=10)
            assert (await conn.receive_json())["payload"]["code"] == "internal_error"
            with pytest.raises(ReceiveTimeout, match=r"no frame from ws://127\.0\.0\.1"):
                await conn.receive(timeout=0.05)
        assert conn.close_code == 1000
        with pytest.raises(WebSocketClosed):
            await conn.send_text("late")
        with pytest.raises(HandshakeRejected) as refused:
            await WebSocketTestClient(server.url + "/ws/items/2?deny=1").open()
        assert refused.value.status == 403


async def test_the_server_closing_first_is_seen_with_its_code() -> None:
    with LiveServer(pachinko.build(STRICT)) as server:
        conn = await WebSocketTestClient(server.url + "/echo")
        await conn.send_bytes(b"x" * 100)
        with pytest.raises(WebSocketClosed) as closed:
            await conn.receive_json()
        assert closed.value.code == 1009
        assert "<< close" in str(closed.value)
        await conn.aclose()


async def test_the_trace_lists_both_directions_and_can_be_turned_off() -> None:
    with LiveServer(pachinko.build(E2E)) as server:
        async with WebSocketTestClient(server.url + "/ws/chat/trace") as conn:
            await conn.send_message("echo", {"k": "v"}, id=1)
            await conn.receive_json()
        assert [(f.index, f.direction, f.kind) for f in conn.frames] == [
            (0, "sent", "text"),
            (1, "received", "text"),
            (2, "sent", "close"),
        ]
        assert conn.frames[1].payload == {"type": "echoed", "payload": {"k": "v"}, "id": 1}
        async with WebSocketTestClient(server.url + "/ws/chat/trace", trace=False) as quiet:
            await quiet.send_message("echo", 1, id=1)
            await quiet.receive_json()
        assert quiet.frames == []
        assert "(trace off)" in quiet.format_trace()


def test_the_example_project_passes_and_a_failure_shows_frames_and_server_log(
    tmp_path: Path,
) -> None:
    project = tmp_path / "example_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests" / "test_failing.py").write_text(
        "async def test_fails(pachinko_client):\n"
        "    async with pachinko_client('/ws/hello') as conn:\n"
        "        await conn.send_message('greet', {'name': 'Bug'}, id=1)\n"
        "        assert await conn.receive_json() == 'something else'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PACHINKO_MANIFEST"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rN", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = result.stdout + result.stderr
    assert "1 failed, 4 passed" in out, out
    assert "pachinko frames" in out
    assert ">> text   {'type': 'greet', 'payload': {'name': 'Bug'}, 'id': 1}" in out
    assert "<< text   {'type': 'greet.reply', 'payload': 'Hello, Bug!', 'id': 1}" in out
    assert "pachinko server log (ws://127.0.0.1:" in out
    assert "[accepted]" in out
