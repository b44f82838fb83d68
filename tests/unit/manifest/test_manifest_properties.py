"""Whatever a file holds, `load` returns a Manifest or raises a located ManifestError."""

from __future__ import annotations

import datetime
import math
import os
import sys
import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pachinko.errors import ManifestError
from pachinko.manifest import Locator, Manifest, load, model

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NAMES = sorted(
    {
        field.encode_name
        for struct in vars(model).values()
        if isinstance(struct, type) and issubclass(struct, msgspec.Struct)
        for field in msgspec.structs.fields(struct)
    }
    | {"use", "url", "send", "metrics", "x", "a.b", "with space", "é", ""}
)
SCALARS = st.one_of(
    st.integers(-3, 3),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["5s", "0s", "250ms", "50/s", "off", "flat", "never", "/chat/{room}"]),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
    ),
    max_leaves=25,
)
DOCUMENTS = st.fixed_dictionaries({}, optional={"version": st.just(1) | SCALARS}).flatmap(
    lambda head: st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6).map(
        lambda rest: {**head, **rest}
    )
)
PLAUSIBLE = (
    SCALARS
    | st.sampled_from([1, 0, -1, 100, "5s", "50/s", "app:f", ""])
    | st.lists(st.sampled_from(["app:f", "lobby", 1]), max_size=2)
)


def section(struct: type[msgspec.Struct]) -> st.SearchStrategy[dict[str, object]]:
    names = [field.encode_name for field in msgspec.structs.fields(struct)]
    return st.dictionaries(st.sampled_from([*names, "typo"]), PLAUSIBLE, max_size=5)


ROUTES = st.lists(
    st.fixed_dictionaries(
        {"path": st.just("/a") | PLAUSIBLE},
        optional={
            "name": PLAUSIBLE,
            "hooks": section(model.Hooks),
            "messages": st.dictionaries(
                st.sampled_from(["send", "a.b", ""]), section(model.MessageTable)
            ),
            "workers": st.lists(section(model.RouteWorker), max_size=2),
        },
    ),
    max_size=3,
)
MANIFESTS = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "app": section(model.AppSection),
        "limits": section(model.LimitsTable),
        "backend": section(model.BackendTable),
        "rooms": st.lists(section(model.Room), max_size=2),
        "routes": ROUTES,
        "workers": st.lists(section(model.Worker), max_size=2),
    },
)
# NOTE: CI runs a fixed sample (reproducible); local runs keep exploring new inputs.
SETTINGS = settings(
    max_examples=int(os.environ.get("PACHINKO_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)


def string(text: str) -> str:
    escaped = (
        f"\\u{ord(c):04x}" if c < " " or c == "\x7f" else "\\" + c if c in '"\\' else c
        for c in text
    )
    return '"' + "".join(escaped) + '"'


def key(name: str) -> str:
    bare = name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
    return name if bare else string(name)


def inline(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(inline(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key(k)} = {inline(v)}" for k, v in value.items()) + "}"
    return str(value)


def dump(table: dict[str, object], prefix: tuple[str, ...] = (), depth: int = 2) -> str:
    """Write a dict as TOML: scalars first, then `[tables]` and `[[arrays of tables]]`."""
    lines, tables, arrays = [], {}, {}
    for name, value in table.items():
        if isinstance(value, dict) and len(prefix) < depth:
            tables[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays[name] = value
        else:
            lines.append(f"{key(name)} = {inline(value)}")
    for name, value in tables.items():
        header = ".".join(map(key, (*prefix, name)))
        lines += [f"[{header}]", dump(value, (*prefix, name), depth)]
    for name, items in arrays.items():
        header = ".".join(map(key, (*prefix, name)))
        for item in items:
            lines += [f"[[{header}]]", dump(item, (*prefix, name), depth)]
    return "\n".join(lines)


def key_paths(value: object, prefix: tuple[str | int, ...] = ()):
    if isinstance(value, dict):
        for name, item in value.items():
            yield (*prefix, name)
            yield from key_paths(item, (*prefix, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from key_paths(item, (*prefix, index))


def load_bytes(data: bytes) -> Manifest | ManifestError:
    """Load `data` from a file; check that any diagnostics are sorted and in the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pachinko.toml"
        path.write_bytes(data)
        try:
            return load(path)
        except ManifestError as exc:
            error = exc
    lines = data.count(b"\n") + 1
    for diag in error.diagnostics:
        assert 1 <= diag.line <= lines
        assert diag.column >= 1
        assert diag.path == path
    assert list(error.diagnostics) == sorted(error.diagnostics, key=lambda d: (d.line, d.column))
    return error


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode()))
def test_random_bytes_load_or_raise_manifest_error(data: bytes) -> None:
    load_bytes(data)


@SETTINGS
@given(DOCUMENTS, st.integers(0, 2))
def test_random_documents_load_or_raise_located_errors(document: dict, depth: int) -> None:
    text = dump(document, depth=depth)
    assert tomllib.loads(text) == document  # the writer writes what it was given
    outcome = load_bytes(text.encode())
    if isinstance(outcome, ManifestError):
        assert "toml-syntax" not in {d.code for d in outcome.diagnostics}


@SETTINGS
@given(MANIFESTS, st.integers(0, 2))
def test_near_valid_manifests_load_or_raise_located_errors(document: dict, depth: int) -> None:
    outcome = load_bytes(dump(document, depth=depth).encode())
    if isinstance(outcome, ManifestError):
        assert "toml-syntax" not in {d.code for d in outcome.diagnostics}
    else:
        assert len(outcome.routes) == len(document.get("routes", []))


@SETTINGS
@given(DOCUMENTS, st.integers(0, 2))
def test_locator_finds_every_written_key(document: dict, depth: int) -> None:
    text = dump(document, depth=depth)
    locator = Locator(text)
    lines = text.split("\n")  # NOTE: not splitlines(): TOML ends lines at "\\n" only
    for path in key_paths(document):
        if isinstance(path[-1], str):
            assert path in locator, path
            line, column = locator.locate(path)
            assert lines[line - 1][column - 1] in "[\"'" or lines[line - 1][
                column - 1 :
            ].startswith(path[-1])


def test_a_deeply_nested_array_is_a_syntax_error() -> None:
    outcome = load_bytes(b"version = " + b"[" * 5000)
    assert isinstance(outcome, ManifestError)
    assert outcome.diagnostics[0].code == "toml-syntax"


def test_tempfile_is_not_left_behind() -> None:
    assert os.path.isdir(tempfile.gettempdir())
