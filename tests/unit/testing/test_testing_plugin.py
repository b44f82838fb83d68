"""The pytest plugin: its fixtures, manifest lookup, async runner and failure sections."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import falcon.asgi
import pytest

import pachinko
from pachinko.testing import (
    LiveServer,
    ReceiveTimeout,
    WebSocketSimulator,
    WebSocketTestClient,
)
from pachinko.testing.plugin import find_manifest

HERE = Path(__file__).parent
KIT = HERE / "apps" / "kit" / "pachinko.toml"

pytestmark = pytest.mark.pachinko_manifest("apps/kit/pachinko.toml")


def test_the_marker_names_the_manifest_relative_to_the_test_file(
    pachinko_manifest_path: Path, pachinko_app: falcon.asgi.App
) -> None:
    assert pachinko_manifest_path == KIT
    assert isinstance(
        pachinko.connection_manager(pachinko_app), pachinko.WebSocketConnectionManager
    )


@pytest.mark.pachinko_manifest("apps/strict/pachinko.toml")
def test_the_closest_marker_wins(pachinko_manifest_path: Path) -> None:
    assert pachinko_manifest_path == HERE / "apps" / "strict" / "pachinko.toml"


async def test_the_simulator_fixture_is_started_for_an_async_test(
    pachinko_simulator: WebSocketSimulator,
) -> None:
    assert pachinko_simulator.is_started
    async with pachinko_simulator.connect("/ws/echo") as conn:
        await conn.send_message("add", {"a": 40, "b": 2}, id=1)
        assert await conn.receive_json() == {"type": "add.reply", "payload": 42, "id": 1}


async def test_connections_left_open_are_closed_by_the_runner(
    pachinko_simulator: WebSocketSimulator,
) -> None:
    await pachinko_simulator.connect("/ws/room/open")
    await pachinko_simulator.connect("/ws/room/open")


async def test_the_client_factory_talks_to_the_live_server(
    pachinko_server: LiveServer, pachinko_client: Callable[..., WebSocketTestClient]
) -> None:
    client = pachinko_client("/ws/echo", subprotocols=["pachinko.msgpack"])
    assert client.url == pachinko_server.url + "/ws/echo"
    async with client:
        await client.send_message("echo", "over a socket", id=1)
        assert await client.receive_media() == {
            "type": "echoed",
            "payload": "over a socket",
            "id": 1,
        }
    # Opened and left open: the runner closes it after the test, in the test's loop.
    await pachinko_client("/ws/echo")


@pytest.mark.anyio
async def test_a_test_for_another_async_plugin_is_left_to_it() -> None:
    assert asyncio.get_running_loop() is not None


def fake_config(tmp_path: Path, option: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        getini=lambda name: option, inipath=tmp_path / "pytest.ini", rootpath=tmp_path
    )


def test_the_manifest_is_found_by_ini_option_then_env_then_nearest_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_file = tmp_path / "tests" / "deep" / "test_x.py"
    test_file.parent.mkdir(parents=True)
    (tmp_path / "pachinko.toml").touch()
    monkeypatch.delenv("PACHINKO_MANIFEST", raising=False)
    config = fake_config(tmp_path, "conf/app.toml")
    assert find_manifest(test_file, config, "../m.toml") == test_file.parent / "../m.toml"
    assert find_manifest(test_file, config) == tmp_path / "conf" / "app.toml"
    config = fake_config(tmp_path)
    assert find_manifest(test_file, config) == tmp_path / "pachinko.toml"
    (test_file.parent / "pachinko.toml").touch()
    assert find_manifest(test_file, config) == test_file.parent / "pachinko.toml"
    monkeypatch.setenv("PACHINKO_MANIFEST", str(tmp_path / "env.toml"))
    assert find_manifest(test_file, config) == tmp_path / "env.toml"


def test_no_manifest_anywhere_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PACHINKO_MANIFEST", raising=False)
    assert find_manifest(Path("/test_x.py"), fake_config(tmp_path)) is None


RUNNER_CONFTEST = """
def pytest_configure(config):
    # Stands in for pytest-asyncio: a plugin registered under its name.
    config.pluginmanager.register(object(), "asyncio")
"""
RUNNER_TESTS = """
import asyncio
import pytest

@pytest.mark.pachinko_async
async def test_marked():
    await asyncio.sleep(0)

async def test_unmarked():
    await asyncio.sleep(0)
"""


def test_with_another_async_runner_loaded_only_marked_tests_are_run_by_pachinko(
    tmp_path: Path,
) -> None:
    (tmp_path / "conftest.py").write_text(RUNNER_CONFTEST)
    (tmp_path / "test_runner.py").write_text(RUNNER_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "PASSED test_runner.py::test_marked" in done.stdout, done.stdout
    # Left to the (stand-in) runner, which does not run it: pytest fails it.
    assert "FAILED test_runner.py::test_unmarked" in done.stdout, done.stdout


async def test_receive_message_skips_frames_of_other_types(
    pachinko_simulator: WebSocketSimulator,
) -> None:
    async with (
        pachinko_simulator.connect("/ws/room/skip") as alice,
        pachinko_simulator.connect("/ws/room/skip") as bob,
    ):
        await bob.send_message("say", "hi")
        said = await alice.receive_message("said")
        assert said["payload"]["text"] == "hi"
        seen = [frame.json()["type"] for frame in alice.frames if frame.direction == "received"]
        assert seen == ["presence.join", "said"]
        with pytest.raises(ReceiveTimeout, match="no 'never' message from /ws/room/skip"):
            await alice.receive_message("never", timeout=0.05)


TIMES_OUT = """\
from pachinko.testing import WebSocketSimulator


async def test_waits_for_a_frame_that_never_comes(pachinko_simulator: WebSocketSimulator):
    async with pachinko_simulator.connect("/ws/echo") as conn:
        await conn.receive(timeout=0.05)
"""


def test_a_receive_timeout_is_reported_at_the_tests_own_line(tmp_path: Path) -> None:
    shutil.copytree(KIT.parent, tmp_path / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\npachinko_manifest = kit/pachinko.toml\npachinko_async_timeout = 20\n"
    )
    (tmp_path / "test_times_out.py").write_text(TIMES_OUT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=short"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert "1 failed" in out, out
    assert "test_times_out.py:6: in test_waits_for_a_frame_that_never_comes" in out, out
    assert "ReceiveTimeout: no frame from /ws/echo within 0.05s" in out, out
    assert "did not finish within" not in out
