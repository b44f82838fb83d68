"""`pachinko` as a newcomer meets it: every mistake at once, help, version, folders as `-m`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import run

from pachinko.cli import EXIT_INVALID, EXIT_OK

MANY = Path(__file__).resolve().parent.parent / "manifests" / "many"
#: (line, code) of each independent mistake in tests/manifests/many/pachinko.toml.
MISTAKES = [
    (5, "wrong-type"),
    (8, "unknown-plugin"),
    (12, "unknown-key"),
    (16, "unknown-placeholder"),
    (19, "not-async"),
    (22, "import-failed"),
    (23, "unknown-key"),
    (26, "import-failed"),
    (31, "invalid-duration"),
    (33, "missing-key"),
    (34, "import-failed"),
]
_LOCATED = re.compile(r"^.+?:(\d+):\d+: error\[([a-z-]+)\]: ")


@pytest.mark.parametrize("command", ["check", "serve"])
def test_every_independent_mistake_is_reported_in_one_run_as_text(command: str) -> None:
    # NOTE: `serve` checks first and never binds port 1 here.
    port = ["--port", "1"] if command == "serve" else []
    done = run(command, "-m", str(MANY), *port, cwd=MANY)
    assert done.returncode == EXIT_INVALID
    found = [
        (int(match[1]), match[2])
        for match in map(_LOCATED.match, done.stdout.splitlines())
        if match
    ]
    assert found == MISTAKES
    assert done.stdout.splitlines()[-1] == f"✗ {len(MISTAKES)} errors, 0 warnings"
    assert "Traceback" not in done.stderr


def test_every_independent_mistake_is_reported_in_one_run_as_json() -> None:
    done = run("check", "-m", str(MANY), "--format", "json", cwd=MANY)
    assert done.returncode == EXIT_INVALID
    found = [(d["line"], d["code"]) for d in json.loads(done.stdout)]
    assert found == MISTAKES


def test_a_skipped_check_says_so_in_its_hint() -> None:
    done = run("check", "-m", str(MANY), "--format", "json", cwd=MANY)
    missing = next(d for d in json.loads(done.stdout) if d["code"] == "missing-key")
    assert missing["hint"] == "what depends on this value is not checked until it is fixed"


def test_a_folder_given_as_manifest_means_its_pachinko_toml() -> None:
    done = run("check", "-m", str(MANY), cwd=MANY.parent)
    assert done.stdout.startswith(f"{MANY / 'pachinko.toml'}:5:1: ")


def test_version_and_short_help(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path)
    assert version.returncode == EXIT_OK
    assert re.fullmatch(r"pachinko \d+\.\d+\.\d+\S*\n", version.stdout)
    assert run("-h", cwd=tmp_path).stdout == run("--help", cwd=tmp_path).stdout
    assert run("serve", "-h", cwd=tmp_path).returncode == EXIT_OK


@pytest.mark.parametrize("command", ["check", "serve", "routes", "plugins"])
def test_help_shows_no_bool_placeholders(tmp_path: Path, command: str) -> None:
    shown = run(command, "--help", cwd=tmp_path).stdout
    assert "<bool>" not in shown
    if command == "serve":
        for option in (
            "--reload / --no-reload",
            "--proxy-headers / --no-proxy-headers",
            "--forwarded-allow-ips",
            "--root-path",
            "--ssl-keyfile",
            "--ssl-certfile",
        ):
            assert option in shown


WARNED = """\
version = 1

[limits]
ping_interval = "30s"
idle_timeout = "30s"

[[rooms]]
name = "audit"
history = 10
"""


def test_foot_guns_are_warnings_with_their_own_codes(tmp_path: Path) -> None:
    (tmp_path / "pachinko.toml").write_text(WARNED)
    done = run("check", "--format", "json", cwd=tmp_path)
    assert done.returncode == EXIT_OK
    found = [(d["line"], d["code"], d["severity"]) for d in json.loads(done.stdout)]
    assert found == [(5, "idle-before-ping", "warning"), (9, "unjoined-history", "warning")]


def test_serve_with_workers_warns_about_the_memory_backend(tmp_path: Path) -> None:
    (tmp_path / "pachinko.toml").write_text(
        "version = 1\n[backend]\nuse = 'memory'\n[app]\nhttp = '?'\n"
    )
    done = run("serve", "--workers", "2", cwd=tmp_path)
    assert done.returncode == EXIT_INVALID
    assert "warning[per-process-backend]: 2 server processes" in done.stdout
