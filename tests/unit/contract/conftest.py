"""Shared helpers of the contract tests: the CLI as a subprocess, and the npm AsyncAPI parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
APPS = Path(__file__).parent / "apps"
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
VALIDATE = Path(__file__).parent / "validate_asyncapi.cjs"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python -m pachinko.cli ARGS` and capture its output."""
    environ = {k: v for k, v in os.environ.items() if k != "PACHINKO_MANIFEST"}
    return subprocess.run(
        [sys.executable, "-m", "pachinko.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def run_parser(
    *files: Path, node_modules: Path = NODE_MODULES
) -> dict[str, list[dict[str, object]]]:
    """Run the official @asyncapi/parser over `files`; return its diagnostics per file.

    Under CI a missing Node or parser fails the test; elsewhere it skips it
    (`./scripts/setup` installs the parser).
    """
    node = shutil.which("node")
    if node is None or not (node_modules / "@asyncapi" / "parser").is_dir():
        reason = "the AsyncAPI parser is not installed (run ./scripts/setup)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(VALIDATE), *map(str, files)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`cli("asyncapi", "-m", path)`: the command line as a subprocess."""
    return run_cli


@pytest.fixture
def asyncapi_parser() -> Callable[..., dict[str, list[dict[str, object]]]]:
    """`asyncapi_parser(*files)`: the official parser's diagnostics per file."""
    return run_parser
