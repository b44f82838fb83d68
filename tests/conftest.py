"""Shared test setup.

`async def` tests are run by pachinko's own pytest plugin (`pachinko.testing.plugin`,
registered through the `pytest11` entry point), each on a fresh event loop and
bounded by its `pachinko_async_timeout` ini option (30 s).

Every process the suite starts inherits `PACHINKO_TEST_SESSION`; at session end,
one that is still running (a `pachinko serve` or one of its worker processes) fails
the run, and is killed so that it holds no port.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import uuid
from pathlib import Path

import pytest

MARKER = "PACHINKO_TEST_SESSION"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("pachinko"):
        raise pytest.UsageError(
            "pachinko's pytest plugin is not registered (it runs the async tests): "
            "reinstall with `pip install -e .` (./scripts/setup)"
        )
    os.environ.setdefault(MARKER, uuid.uuid4().hex)


def started_by_this_session() -> dict[int, str]:
    """Live processes (other than this one) carrying this session's marker: pid -> command."""
    needle = f"{MARKER}={os.environ[MARKER]}".encode()
    found = {}
    mine = _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = command.strip()
    return found


def _ancestors() -> set[int]:
    """This process and its parents (a pytest run by a test shares the marker)."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rpartition(")")[2].split()[1])
    return found


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait (on pidfds, not by sleeping) up to `timeout` for processes to exit; return the rest."""
    left = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue  # already gone
        try:
            if not select.select([fd], [], [], timeout)[0]:
                left.append(pid)
        finally:
            os.close(fd)
    return left


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc").is_dir() or session.config.option.collectonly:
        return
    leftovers = started_by_this_session()
    lingering = _wait_gone(list(leftovers), timeout=5.0)
    if not lingering:
        return
    for pid in lingering:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("processes left running by the test suite (now killed):", red=True)
        for pid in lingering:
            reporter.write_line(f"  [{pid}] {leftovers[pid]}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
