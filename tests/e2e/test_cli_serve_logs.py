"""`pachinko serve` as an operator sees it: `--reload`, log lines, fatal failures."""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest
from test_cli_serve import BIN, SERVE, started
from websockets.sync.client import connect

APP = """\
async def hello(conn, payload):
    return "{version}"
"""
MANIFEST = """\
version = 1

[[routes]]
path = "/r"

[routes.messages.hello]
handler = "fx_serve_logs:{handler}"
"""


class LogLines:
    """The rest of a server's stderr, read by a thread so that waiting is bounded."""

    def __init__(self, process: subprocess.Popen[str], seen: list[str] | None = None) -> None:
        self.seen: list[str] = list(seen or [])
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Return the next line containing `text`; fail after `timeout` or at end of output."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout}s:\n{self.text}") from None
            if line is None:
                raise AssertionError(f"the server exited before {text!r}:\n{self.text}")
            self.seen.append(line)
            if text in line:
                return line

    @property
    def text(self) -> str:
        return "".join(self.seen)


def ask(port: int, path: str = "/r") -> object:
    with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=5) as ws:
        ws.send(json.dumps({"type": "hello", "id": 1}))
        return json.loads(ws.recv(timeout=5))["payload"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fx_serve_logs.py").write_text(APP.format(version="v1"))
    (tmp_path / "pachinko.toml").write_text(MANIFEST.format(handler="hello"))
    return tmp_path


def test_reload_keeps_the_last_good_app_through_a_broken_edit(project: Path) -> None:
    manifest = project / "pachinko.toml"
    command: list[object] = [BIN / "pachinko", "serve", "--reload", "-m", manifest]
    with started(command) as (process, port):
        log = LogLines(process)
        assert ask(port) == "v1"
        manifest.write_text(MANIFEST.format(handler="helo"))
        log.wait_for("still serving the last good version")
        assert "error[import-failed]: cannot import 'fx_serve_logs:helo'" in log.text
        assert "Traceback" not in log.text
        assert ask(port) == "v1"
        (project / "fx_serve_logs.py").write_text(APP.format(version="v2"))
        manifest.write_text(MANIFEST.format(handler="hello"))
        log.wait_for("pachinko ready")
        assert ask(port) == "v2"


def test_reload_refuses_connections_while_the_app_cannot_start(project: Path) -> None:
    manifest = project / "pachinko.toml"
    command: list[object] = [BIN / "pachinko", "serve", "--reload", "-m", manifest]
    with started(command) as (process, port):
        log = LogLines(process)
        # NOTE: `check` never calls the factory, so only starting the app finds this.
        (project / "fx_serve_web.py").write_text("def make():\n    raise RuntimeError('no db')\n")
        manifest.write_text(
            MANIFEST.format(handler="hello").replace(
                "version = 1\n", 'version = 1\n[app]\nhttp = "fx_serve_web:make"\n'
            )
        )
        log.wait_for("refusing connections until the next good edit")
        with pytest.raises(ConnectionRefusedError):
            ask(port)


FATAL = """\
version = 1

[[workers]]
name = "crash"
target = "fx_serve_fatal:crash"
"""


def test_a_fatal_worker_crash_prints_one_traceback_and_never_ready(tmp_path: Path) -> None:
    (tmp_path / "fx_serve_fatal.py").write_text(
        textwrap.dedent("""\
            async def crash(ctx):
                raise RuntimeError("the worker broke")
        """)
    )
    (tmp_path / "pachinko.toml").write_text(FATAL)
    done = subprocess.run(
        [BIN / "pachinko", "serve", "-m", tmp_path / "pachinko.toml", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("Traceback") == 1, done.stderr
    assert "RuntimeError: the worker broke" in done.stderr
    assert "pachinko ready" not in done.stderr
    assert "CRITICAL: pachinko: worker 'crash' failed for good; stopping the server" in done.stderr


def test_log_lines_carry_a_level_and_query_strings_are_redacted() -> None:
    with started(SERVE) as (process, port):
        log = LogLines(process)
        ask(port, "/ws/chat/logs?token=s3cret")
        accepted = log.wait_for('"WebSocket /ws/chat/logs')
    assert '"WebSocket /ws/chat/logs?[redacted]" [accepted]' in accepted
    assert "s3cret" not in log.text
    logged = [line for line in log.text.splitlines() if line.strip()]
    assert all(line.split(":")[0] in {"INFO", "WARNING", "ERROR"} for line in logged), logged


def test_query_strings_are_logged_when_asked() -> None:
    with started([*SERVE, "--log-query-strings"]) as (process, port):
        log = LogLines(process)
        ask(port, "/ws/chat/logs?token=s3cret")
        assert "?token=s3cret" in log.wait_for('"WebSocket /ws/chat/logs')


WHO = """\
async def who(conn, payload):
    return {"addr": conn.request.remote_addr, "root": conn.request.root_path}
"""


def test_serve_passes_proxy_headers_and_root_path_to_uvicorn(tmp_path: Path) -> None:
    """A proxy strips `/api`: uvicorn puts it back in front of the path, so the mount is `/api`."""
    (tmp_path / "fx_serve_who.py").write_text(WHO)
    routes = '[[routes]]\npath = "/who"\n[routes.messages.who]\nhandler = "fx_serve_who:who"\n'
    (tmp_path / "pachinko.toml").write_text('version = 1\n[app]\nmount = "/api"\n' + routes)
    command: list[object] = [
        BIN / "pachinko", "serve", "-m", tmp_path,
        "--forwarded-allow-ips", "*", "--root-path", "/api",
    ]  # fmt: skip
    with started(command) as (_, port):
        headers = {"X-Forwarded-For": "203.0.113.9"}
        with connect(f"ws://127.0.0.1:{port}/who", additional_headers=headers) as ws:
            ws.send(json.dumps({"type": "who", "id": 1}))
            reply = json.loads(ws.recv(timeout=5))
    assert reply["payload"] == {"addr": "203.0.113.9", "root": "/api"}


def test_serve_speaks_tls_with_the_given_key_and_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (tmp_path / "fx_serve_who.py").write_text(WHO)
    routes = '[[routes]]\npath = "/who"\n[routes.messages.who]\nhandler = "fx_serve_who:who"\n'
    (tmp_path / "pachinko.toml").write_text("version = 1\n" + routes)
    command: list[object] = [
        BIN / "pachinko", "serve", "-m", tmp_path, "--ssl-keyfile", key, "--ssl-certfile", cert,
    ]  # fmt: skip
    with started(command) as (_, port):
        context = ssl.create_default_context(cafile=str(cert))
        with connect(f"wss://127.0.0.1:{port}/who", ssl=context) as ws:
            ws.send(json.dumps({"type": "who", "id": 1}))
            assert json.loads(ws.recv(timeout=5))["payload"]["addr"] == "127.0.0.1"
