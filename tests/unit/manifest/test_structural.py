"""Structural mistakes in a manifest are all reported, each where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from pachinko.errors import ManifestError
from pachinko.manifest import CODES, load

BAD = Path(__file__).parents[2] / "manifests" / "bad"


def errors_of(path: Path) -> tuple[str, ...]:
    with pytest.raises(ManifestError) as caught:
        load(path)
    return tuple(
        str(diag).partition("\n")[0].removeprefix(f"{path}:") for diag in caught.value.diagnostics
    )


@pytest.mark.parametrize("path", sorted(BAD.glob("s_*.toml")), ids=lambda p: p.stem)
def test_structural_mistake_is_reported_where_it_is_written(path: Path) -> None:
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    assert errors_of(path)[0] == expected


def test_there_are_many_structural_examples() -> None:
    assert len(list(BAD.glob("s_*.toml"))) >= 15


def test_independent_mistakes_in_different_sections_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text(
        "version = 1\n"  # 1
        "[app]\n"
        'envelope = "flat2"\n'  # 3
        "[limits]\n"
        'burst = "many"\n'  # 5
        "[[routes]]\n"  # 6: no path
        'name = "a"\n'
        "[[routes]]\n"
        'path = "/b"\n'
        "[routes.messages.send]\n"
        'handlr = "app:send"\n'  # 11
        "[[workers]]\n"
        'name = "w"\n'
        'target = "app:w"\n'
        'every = "5 secs"\n',  # 15
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as caught:
        load(path)
    found = [(d.line, d.column, d.code) for d in caught.value.diagnostics]
    assert found == [
        (3, 1, "invalid-value"),
        (5, 1, "wrong-type"),
        (6, 1, "missing-key"),
        (11, 1, "unknown-key"),
        (15, 1, "invalid-duration"),
    ]


def test_every_unknown_key_of_one_table_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text('version = 1\n[app]\nnmae = "x"\ncodex = "json"\nenvelop = "flat"\n')
    assert [line.split(": ")[0] for line in errors_of(path)] == ["3:1", "4:1", "5:1"]


def test_unknown_key_without_a_close_match_lists_the_known_keys(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text("version = 1\n[limits]\nzzz = 1\n")
    with pytest.raises(ManifestError) as caught:
        load(path)
    assert caught.value.diagnostics[0].hint == (
        "known keys: max_message_bytes, rate, burst, send_queue, send_timeout, "
        "ping_interval, idle_timeout, handshake_timeout, max_header_bytes, max_connections, "
        "max_history_bytes, shutdown_timeout"
    )


def test_missing_file_is_one_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ManifestError) as caught:
        load(path)
    (diag,) = caught.value.diagnostics
    assert (diag.line, diag.column, diag.code) == (1, 1, "file-not-found")
    assert str(path) in diag.message


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path)
    assert [d.code for d in caught.value.diagnostics] == ["unreadable"]


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_bytes(b'version = 1\n[app]\nname = "caf\xe9"\n')
    with pytest.raises(ManifestError) as caught:
        load(path)
    (diag,) = caught.value.diagnostics
    assert (diag.line, diag.column, diag.code) == (3, 12, "invalid-encoding")


def test_args_of_a_worker_are_free_form(tmp_path: Path) -> None:
    path = tmp_path / "pachinko.toml"
    path.write_text(
        'version = 1\n[[workers]]\nname = "w"\ntarget = "app:w"\n'
        'args = { anything = [1, "two"], nested = { deep = true } }\n'
    )
    assert load(path).workers[0].args == {"anything": [1, "two"], "nested": {"deep": True}}


def test_codes_are_kebab_case_and_documented() -> None:
    assert all(code == code.lower() and " " not in code and "_" not in code for code in CODES)
    assert all(CODES.values())


def test_a_syntax_error_at_the_end_counts_toml_lines_not_python_ones(tmp_path: Path) -> None:
    # \v is a line break to str.splitlines(), not to TOML (found by Hypothesis).
    path = tmp_path / "pachinko.toml"
    path.write_bytes(b"'\x0b\x00")
    with pytest.raises(ManifestError) as caught:
        load(path)
    assert [(d.line, d.code) for d in caught.value.diagnostics] == [(1, "toml-syntax")]


def test_one_rule_places_every_diagnostic_key_element_or_header(tmp_path: Path) -> None:
    text = (
        "version = 1\n"
        "[limits]\n"
        '  burst = "x"\n'  # a bad value: at its key, however indented
        "[[routes]]\n"
        'join = ["ok", 3]\n'  # a bad array element: at the element
        "[routes.messages.send]\n"
        'handler = " "\n'
    )
    path = tmp_path / "pachinko.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load(path)
    found = [(d.line, d.column, d.code) for d in caught.value.diagnostics]
    assert found == [
        (3, 3, "wrong-type"),
        (4, 1, "missing-key"),  # `path` is missing: at the header of its table
        (5, text.splitlines()[4].index("3") + 1, "wrong-type"),
        (7, 1, "invalid-value"),
    ]
