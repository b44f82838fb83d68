"""`build`: the manifest's records reach the runtime as given (in process, simulator)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import pachinko
from pachinko.testing import WebSocketSimulator

HANDLERS = """\
import msgspec


class Point(msgspec.Struct):
    x: int


async def echo(conn, payload: Point):
    return {"got": repr(payload)}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "fx_build_objects.py").write_text(HANDLERS)
    yield tmp_path
    sys.modules.pop("fx_build_objects", None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def _manifest(folder: Path, payload_line: str) -> Path:
    path = folder / "pachinko.toml"
    path.write_text(
        textwrap.dedent(f"""\
            version = 1
            [[routes]]
            path = "/echo"
            [routes.messages.echo]
            handler = "fx_build_objects:echo"
            {payload_line}
        """)
    )
    return path


async def test_payload_builtins_object_wins_over_the_handlers_annotation(folder: Path) -> None:
    app = pachinko.build(_manifest(folder, 'payload = "builtins:object"'))
    async with WebSocketSimulator(app) as sim, sim.connect("/echo") as conn:
        await conn.send_message("echo", "not a point", id=1)
        reply = await conn.receive_json()
    assert reply == {"type": "echo.reply", "payload": {"got": "'not a point'"}, "id": 1}


async def test_without_payload_the_handlers_annotation_decides(folder: Path) -> None:
    app = pachinko.build(_manifest(folder, ""))
    async with WebSocketSimulator(app) as sim, sim.connect("/echo") as conn:
        await conn.send_message("echo", "not a point", id=1)
        reply = await conn.receive_json()
        await conn.send_message("echo", {"x": 3}, id=2)
        point = await conn.receive_json()
    assert reply["payload"]["code"] == "invalid_payload"
    assert point["payload"] == {"got": "Point(x=3)"}
