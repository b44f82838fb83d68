"""The examples of README.md and docs/guide.md: manifests that load, Python that compiles,
and the guide's first project checked by the real CLI as the guide shows it."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from test_cli import run

from pachinko.manifest import load
from pachinko.testing import WebSocketSimulator

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "docs" / "guide.md"]


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)


def examples(language: str) -> list[object]:
    return [
        pytest.param(text, id=f"{page.name}-{i}")
        for page in PAGES
        for i, text in enumerate(blocks(page, language))
    ]


@pytest.mark.parametrize("text", examples("toml"))
def test_every_manifest_example_loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text(text if "version = " in text else "version = 1\n" + text, encoding="utf-8")
    load(path)  # NOTE: structure only; the modules a fragment names are the reader's


@pytest.mark.parametrize("text", examples("python"))
def test_every_python_example_compiles(text: str) -> None:
    # NOTE: fragments may `await` at the top level, as in a handler's body.
    compile(text, "example", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_guides_first_project_checks_as_the_guide_shows(tmp_path: Path) -> None:
    guide = ROOT / "docs" / "guide.md"
    handlers, manifest = blocks(guide, "python")[0], blocks(guide, "toml")[0]
    (tmp_path / "handlers.py").write_text(handlers, encoding="utf-8")
    (tmp_path / "pachinko.toml").write_text(manifest, encoding="utf-8")
    shown = blocks(guide, "console")[0].splitlines()
    assert shown[0] == "$ pachinko check"
    done = run("check", cwd=tmp_path)
    assert done.stdout.splitlines() == [shown[1]]


async def test_the_guides_versioning_example_serves_both_versions(tmp_path: Path) -> None:
    guide = ROOT / "docs" / "guide.md"
    (module,) = [b for b in blocks(guide, "python") if b.startswith("# chat_versions.py")]
    (manifest,) = [b for b in blocks(guide, "toml") if "chat_versions:ChatV2" in b]
    (tmp_path / "chat_versions.py").write_text(module, encoding="utf-8")
    (tmp_path / "pachinko.toml").write_text(manifest, encoding="utf-8")
    try:
        async with WebSocketSimulator(tmp_path / "pachinko.toml") as sim:
            async with sim.connect("/chat", subprotocols=["chat.v3", "chat.v2"]) as v2:
                assert v2.subprotocol == "chat.v2"
                await v2.send_message("send", {"body": "hi"}, id=1)
                assert (await v2.receive_json())["payload"] == {"body": "hi", "format": "plain"}
            async with sim.connect("/chat", subprotocols=["chat.v1"]) as v1:
                await v1.send_message("edit", {"body": "hi"}, id=2)
                assert (await v1.receive_json())["payload"]["code"] == "unknown_type"
            async with sim.connect(
                "/chat", subprotocols=["chat.v2+msgpack"], codec="msgpack"
            ) as binary:
                await binary.send_message("send", {"body": "hi"}, id=3)
                frame = await binary.receive()
                assert frame.kind == "binary"
                assert frame.payload["payload"] == {"body": "hi", "format": "plain"}
    finally:
        sys.modules.pop("chat_versions", None)
        sys.path.remove(str(tmp_path))
