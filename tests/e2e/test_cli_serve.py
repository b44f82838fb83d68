"""`pachinko serve`, `pachinko routes` and `pachinko.asgi:app` as real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import APPS, peer

BIN = Path(sys.executable).parent
BAD = APPS.parent.parent / "manifests" / "bad" / "r_missing_module.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(
    process: subprocess.Popen[str], ready: str = "pachinko ready in process"
) -> list[str]:
    """Read the server's log until a server process says it is listening."""
    seen: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if ready in line:
            return seen
    raise AssertionError("server exited before serving:\n" + "".join(seen))


@contextlib.contextmanager
def started(
    command: list[object], env: dict[str, str] | None = None, ready: str = "pachinko ready"
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Run a server command on a free port until it says `ready`; kill it on exit.

    The server runs in its own process group, and the whole group is killed: its
    worker processes (`--workers`, `--reload`) never outlive the test.
    """
    port = free_port()
    with subprocess.Popen(
        [*command, "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            wait_until_serving(process, ready)
            yield process, port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


SERVE = [BIN / "pachinko", "serve", "-m", APPS / "pachinko.toml"]


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    with started(SERVE) as running:
        yield running


@pytest.fixture
def asgi_port() -> Iterator[int]:
    env = {**os.environ, "PACHINKO_MANIFEST": str(APPS / "pachinko.toml")}
    command: list[object] = [BIN / "uvicorn", "pachinko.asgi:app", "--ws", "wsproto"]
    with started(command, env, ready="Uvicorn running on") as (_, port):
        yield port


def test_serve_on_a_broken_manifest_reports_and_never_binds() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [BIN / "pachinko", "serve", "-m", BAD, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert "error[import-failed]" in done.stdout
    assert "address already in use" not in (done.stdout + done.stderr).lower()
    assert "Uvicorn running" not in done.stderr


async def test_serve_serves_and_sigterm_closes_with_1001(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = served
    async with peer(f"ws://127.0.0.1:{port}/ws/chat/cli") as p:
        assert await p.ask({"type": "add", "payload": {"a": 2, "b": 3}, "id": 1}) == {
            "type": "add.reply",
            "payload": {"sum": 5},
            "id": 1,
        }
        process.send_signal(signal.SIGTERM)
        assert await p.closed() == 1001
    # A graceful shutdown exits 0 (DESIGN.md section 3), not with the signal.
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None
    assert "Finished server process" in process.stderr.read()


def test_routes_prints_the_table_with_handler_sources() -> None:
    done = subprocess.run(
        [BIN / "pachinko", "routes", "-m", APPS / "pachinko.toml"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["PATH", "TYPE", "HANDLER", "PAYLOAD", "REPLY", "SOURCE"]
    add = next(line.split() for line in lines if " add " in line)
    assert add[:5] == ["/ws/chat/{room}", "add", "e2e_chat:add", "Add", "add.reply"]
    assert add[5].startswith("e2e_chat.py:")
    assert any("e2e_chat:Items.get_item" in line for line in lines)


async def test_uvicorn_serves_pachinko_asgi_from_the_environment(asgi_port: int) -> None:
    async with peer(f"ws://127.0.0.1:{asgi_port}/ws/chat/asgi") as p:
        reply = await p.ask(json.dumps({"type": "echo", "payload": "via asgi"}))
        assert reply == {"type": "echoed", "payload": "via asgi"}


@pytest.fixture
def two_workers() -> Iterator[tuple[subprocess.Popen[str], int]]:
    with started([*SERVE, "--workers", "2"]) as running:
        yield running


async def test_serve_with_workers_serves_the_manifest(
    two_workers: tuple[subprocess.Popen[str], int],
) -> None:
    for room in ("w1", "w2", "w3"):
        async with peer(f"ws://127.0.0.1:{two_workers[1]}/ws/chat/{room}") as p:
            reply = await p.ask({"type": "add", "payload": {"a": 1, "b": 1}, "id": room})
            assert reply == {"type": "add.reply", "payload": {"sum": 2}, "id": room}


async def test_sigterm_to_a_multi_process_server_closes_with_1001_and_exits_0(
    two_workers: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = two_workers
    async with peer(f"ws://127.0.0.1:{port}/ws/chat/workers") as p:
        assert (await p.ask({"type": "echo", "payload": 1}))["payload"] == 1
        process.send_signal(signal.SIGTERM)
        assert await p.closed() == 1001
    assert process.wait(timeout=20) == 0
