"""The distribution as users get it: built into a wheel, installed, imported."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_package_its_types_and_its_entry_points(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("falcon_pachinko-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pachinko/py.typed" in names
    assert "pachinko/runtime/endpoint.py" in names
    assert not any(name.startswith(("tests/", "demo/", "bench/")) for name in names)
    (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for line in (
        "pachinko = pachinko.cli:main",
        "memory = pachinko.backends.memory:MemoryBackend",
        "json = pachinko.codecs.builtin:JsonCodec",
        "msgpack = pachinko.codecs.builtin:MsgpackCodec",
        "prometheus = pachinko.extensions.prometheus:Prometheus",
        "pachinko = pachinko.testing.plugin",
    ):
        assert line in text

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import pachinko, pachinko.cli, pachinko.testing; "
        "print(pachinko.__file__); print(sorted(pachinko.__all__)[:3])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(target), "PATH": ""},
        cwd=tmp_path,  # NOTE: not the checkout, whose pachinko/ would shadow the wheel's
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    imported_from, names_line = done.stdout.splitlines()
    assert imported_from.startswith(str(target))
    assert names_line == "['App', 'BackendUnavailable', 'Connection']"
