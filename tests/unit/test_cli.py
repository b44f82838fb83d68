"""The `pachinko` command line, run as a subprocess: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pachinko.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, resolve_manifest_path

GOOD = """\
version = 1

[[rooms]]
name = "chat:{room}"

[[routes]]
path = "/chat/{room}"
join = ["chat:{room}"]

[routes.messages.send]
handler = "fx_cli_handlers:send"

[routes.messages.typing]
handler = "fx_cli_handlers:send"
"""

HANDLERS = """\
async def send(conn, payload):
    return payload
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PACHINKO_MANIFEST"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pachinko.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "fx_cli_handlers.py").write_text(HANDLERS)
    (tmp_path / "pachinko.toml").write_text(GOOD)
    return tmp_path


def test_valid_manifest_exits_0_with_a_summary(app: Path) -> None:
    done = run("check", cwd=app)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert done.stdout == "✓ pachinko.toml: 1 route, 2 message types, 0 warnings\n"


RESOURCE = """\
from pachinko import WebSocketResource, handles_message


class Room(WebSocketResource):
    @handles_message("wave")
    async def wave(self, conn, payload):
        return payload
"""


def test_check_counts_message_types_as_routes_lists_them(app: Path) -> None:
    (app / "fx_cli_room.py").write_text(RESOURCE)
    with_resource = GOOD.replace('join = ["chat:{room}"]', 'resource = "fx_cli_room:Room"')
    (app / "pachinko.toml").write_text(with_resource)
    checked = run("check", cwd=app)
    listed = run("routes", cwd=app)
    assert checked.stdout == "✓ pachinko.toml: 1 route, 3 message types, 0 warnings\n"
    types = [line.split()[1] for line in listed.stdout.splitlines()[1:]]
    assert types == ["send", "typing", "wave"]


def test_warnings_alone_exit_0(app: Path) -> None:
    (app / "pachinko.toml").write_text(GOOD.replace('join = ["chat:{room}"]', 'join = ["news"]'))
    done = run("check", cwd=app)
    assert done.returncode == EXIT_OK
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"{app / 'pachinko.toml'}:8:9: warning[unknown-room]: "
        "join 'news' matches no [[rooms]] name or pattern"
    )
    assert lines[1].startswith("  hint: ")
    assert lines[-1].endswith("1 route, 2 message types, 1 warning")


def test_every_problem_is_printed_and_exit_is_1(app: Path) -> None:
    broken = GOOD.replace("fx_cli_handlers:send", "fx_cli_handlers:sned").replace(
        'join = ["chat:{room}"]', 'join = ["news"]'
    )
    (app / "broken.toml").write_text(broken)
    done = run("check", "-m", "broken.toml", cwd=app)
    assert done.returncode == EXIT_INVALID
    lines = done.stdout.splitlines()
    where = app / "broken.toml"
    assert lines == [
        f"{where}:8:9: warning[unknown-room]: join 'news' matches no [[rooms]] name or pattern",
        "  hint: declare it with [[rooms]] name = 'news'",
        f"{where}:11:1: error[import-failed]: cannot import 'fx_cli_handlers:sned': "
        "module 'fx_cli_handlers' has no attribute 'sned'",
        "  hint: did you mean 'send'?",
        f"{where}:14:1: error[import-failed]: cannot import 'fx_cli_handlers:sned': "
        "module 'fx_cli_handlers' has no attribute 'sned'",
        "  hint: did you mean 'send'?",
        "✗ 2 errors, 1 warning",
    ]
    assert done.stderr == ""


def test_json_format_prints_only_the_diagnostics(app: Path) -> None:
    (app / "pachinko.toml").write_text(GOOD.replace(":send", ":sned", 1))
    done = run("check", "--format", "json", cwd=app)
    assert done.returncode == EXIT_INVALID
    (diagnostic,) = json.loads(done.stdout)
    assert diagnostic == {
        "path": str(app / "pachinko.toml"),
        "line": 11,
        "column": 1,
        "code": "import-failed",
        "severity": "error",
        "message": "cannot import 'fx_cli_handlers:sned': "
        "module 'fx_cli_handlers' has no attribute 'sned'",
        "hint": "did you mean 'send'?",
    }


def test_json_format_of_a_valid_manifest_is_an_empty_list(app: Path) -> None:
    done = run("check", "--format", "json", cwd=app)
    assert (done.returncode, json.loads(done.stdout)) == (EXIT_OK, [])


def test_manifest_path_falls_back_to_the_environment(app: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = run("check", cwd=elsewhere, env={"PACHINKO_MANIFEST": str(app / "pachinko.toml")})
    assert done.returncode == EXIT_OK, done.stdout
    assert done.stdout.startswith(f"✓ {app / 'pachinko.toml'}: ")


def test_missing_manifest_is_one_diagnostic_and_exit_1(tmp_path: Path) -> None:
    done = run("check", cwd=tmp_path)
    assert done.returncode == EXIT_INVALID
    assert done.stdout.splitlines() == [
        f"{tmp_path / 'pachinko.toml'}:1:1: error[file-not-found]: "
        f"manifest not found: {tmp_path / 'pachinko.toml'}",
        "✗ 1 error, 0 warnings",
    ]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [("check", "--format", "xml"), ("check", "--nope"), ("nope",), ()])
def test_bad_usage_exits_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert run(*args, cwd=tmp_path).returncode == EXIT_USAGE


def test_plugins_lists_group_name_object_distribution_and_version(tmp_path: Path) -> None:
    done = run("plugins", cwd=tmp_path)
    assert done.returncode == EXIT_OK
    header, *rows = [line.split() for line in done.stdout.splitlines()]
    assert header == ["GROUP", "NAME", "OBJECT", "DISTRIBUTION", "VERSION"]
    assert [
        "pachinko.backends",
        "memory",
        "pachinko.backends.memory:MemoryBackend",
        "falcon-pachinko",
    ] in [row[:4] for row in rows]
    if any(row[1] == "fakejson" for row in rows):
        assert [
            "pachinko.codecs",
            "fakejson",
            "pachinko_fake:FakeJsonCodec",
            "pachinko-fake",
            "0.3.1",
        ] in rows


def test_manifest_option_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PACHINKO_MANIFEST", "from-env.toml")
    assert resolve_manifest_path(Path("given.toml")) == Path("given.toml")
    assert resolve_manifest_path(None) == Path("from-env.toml")
    monkeypatch.delenv("PACHINKO_MANIFEST")
    assert resolve_manifest_path(None) == Path("pachinko.toml")
