"""Import strings: `module:attr`, resolved with readable reasons when they fail."""

from __future__ import annotations

import pytest

from pachinko.loader.imports import add_to_path, resolve_import
from pachinko.manifest.diagnostics import Problem


def test_dotted_attribute_after_the_colon_is_followed() -> None:
    assert resolve_import("os.path:join.__name__") == "join"


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("os.path.join", "write it as 'os.path:join'"),
        ("os.path:", None),
        (":join", None),
        ("os path:join", None),
    ],
)
def test_malformed_import_string_is_invalid(spec: str, hint: str | None) -> None:
    with pytest.raises(Problem) as caught:
        resolve_import(spec)
    assert caught.value.code == "invalid-import"
    assert caught.value.hint == hint


def test_missing_module_is_named(project) -> None:
    with pytest.raises(Problem) as caught:
        resolve_import("fx_loader_absent.sub:send")
    assert caught.value.message == (
        "cannot import 'fx_loader_absent.sub:send': no module named 'fx_loader_absent.sub'"
    )


def test_module_raising_is_quoted_and_kept_as_cause(project) -> None:
    mod = project.module("raise RuntimeError('no database')\n")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}:send")
    assert caught.value.message.endswith(f"module '{mod}' raised RuntimeError: no database")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.hint == f"raised at {project.folder / mod}.py:1"


def test_error_raised_inside_the_stdlib_points_at_the_users_line(project) -> None:
    mod = project.module("import os\n\nTOKEN = os.environ['FX_PACHINKO_UNSET_VARIABLE']\n")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}:send")
    assert "raised KeyError" in caught.value.message
    assert caught.value.hint == f"raised at {project.folder / mod}.py:3"


def test_misspelt_module_gets_a_did_you_mean(project) -> None:
    mod = project.module("async def send(conn, payload):\n    return payload\n")
    add_to_path(project.folder)
    typo = mod.replace("loader", "laoder")
    with pytest.raises(Problem) as caught:
        resolve_import(f"{typo}:send")
    assert caught.value.message.endswith(f"no module named {typo!r}")
    assert caught.value.hint == f"did you mean {mod!r}?"


def test_misspelt_submodule_is_matched_within_its_package(project) -> None:
    mod = project.module("")
    package = project.folder / f"{mod}_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handlers.py").write_text("")
    project.modules.append(f"{mod}_pkg")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}_pkg.handlrs:send")
    assert caught.value.hint == f"did you mean '{mod}_pkg.handlers'?"


def test_module_exiting_on_import_is_reported_not_obeyed(project) -> None:
    mod = project.module("import sys\nsys.exit(3)\n")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}:main")
    assert caught.value.message.endswith(f"module '{mod}' raised SystemExit: 3")


def test_syntax_error_points_at_the_line(project) -> None:
    mod = project.module("x = 1\ndef broken(:\n")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}:x")
    assert "raised SyntaxError" in caught.value.message
    assert caught.value.hint == f"syntax error at {project.folder / mod}.py:2"


def test_missing_attribute_suggests_the_closest_name(project) -> None:
    mod = project.module("async def send(conn, payload):\n    return None\n")
    add_to_path(project.folder)
    with pytest.raises(Problem) as caught:
        resolve_import(f"{mod}:sned")
    assert caught.value.message == (
        f"cannot import '{mod}:sned': module '{mod}' has no attribute 'sned'"
    )
    assert caught.value.hint == "did you mean 'send'?"


def test_missing_nested_attribute_names_its_owner() -> None:
    with pytest.raises(Problem) as caught:
        resolve_import("os:path.jion")
    assert "object 'os:path' has no attribute 'jion'" in caught.value.message
    assert caught.value.hint == "did you mean 'join'?"
