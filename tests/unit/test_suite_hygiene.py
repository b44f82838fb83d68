"""The suite's own session-end check: a process a test leaves running fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

LEAKS = """\
import subprocess
import sys

KEPT = []


def test_leaves_a_process_behind():
    command = [sys.executable, "-c", "import time; time.sleep(120)"]
    KEPT.append(subprocess.Popen(command, start_new_session=True))
"""


def test_a_process_left_running_fails_the_session_and_is_killed(tmp_path: Path) -> None:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_leak.py").write_text(LEAKS)
    env = {k: v for k, v in os.environ.items() if k != "PACHINKO_TEST_SESSION"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_leak.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed" in done.stdout, done.stdout
    assert done.returncode == 1, done.stdout
    assert "processes left running by the test suite (now killed):" in done.stdout
    assert "time.sleep(120)" in done.stdout
