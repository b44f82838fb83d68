"""Structural mistakes do not stop resolution: only what depends on a broken value is skipped."""

from __future__ import annotations

from pachinko.loader import check, examine


def _found(path) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in check(path)]


def test_a_route_without_path_still_has_its_handlers_imported(project) -> None:
    mod = project.module("def send(conn, payload):\n    return payload\n")
    path = project.manifest(f"""
        [[routes]]
        join = ["chat:{{nope}}"]

        [routes.messages.send]
        handler = "{mod}:send"
    """)
    # The join placeholder needs the path: skipped. The handler does not: checked.
    assert _found(path) == [(2, "missing-key"), (6, "not-async")]


def test_misspelt_handler_key_is_not_also_a_missing_handler(project) -> None:
    path = project.manifest("""
        [[routes]]
        path = "/a"

        [routes.messages.send]
        handlr = "x:send"
    """)
    assert _found(path) == [(6, "unknown-key")]


def test_an_invalid_resource_is_not_also_a_missing_handler(project) -> None:
    path = project.manifest("""
        [[routes]]
        path = "/a"
        resource = ""

        [routes.messages.send]
    """)
    assert _found(path) == [(4, "invalid-value")]


def test_a_broken_worker_hides_no_other_worker(project) -> None:
    mod = project.module("async def tick(ctx):\n    return None\n")
    path = project.manifest(f"""
        [[workers]]
        name = "a"
        target = 3

        [[workers]]
        name = "b"
        target = "{mod}:tock"

        [[workers]]
        name = "b"
        target = "{mod}:tick"
    """)
    assert _found(path) == [(4, "wrong-type"), (8, "import-failed"), (11, "duplicate-name")]


def test_a_manifest_with_structural_errors_never_becomes_a_plan(project) -> None:
    path = project.manifest("""
        [limits]
        burst = 0
    """)
    result = examine(path)
    assert result.plan is None
    assert [d.code for d in result.diagnostics] == ["out-of-range"]
