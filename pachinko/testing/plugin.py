"""The pytest plugin (entry point `pytest11`): manifest fixtures and an `async def` test runner.

Fixtures: `pachinko_manifest_path`, `pachinko_app`, `pachinko_simulator`,
`pachinko_server`, `pachinko_client`. The manifest comes from the
`@pytest.mark.pachinko_manifest(path)` marker (relative to the test file), else
the `pachinko_manifest` ini option (relative to the ini file), else
`$PACHINKO_MANIFEST`, else the nearest `pachinko.toml` above the test file.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon.asgi
import pytest

from pachinko.build import build
from pachinko.testing.client import WebSocketTestClient
from pachinko.testing.server import LiveServer
from pachinko.testing.simulator import WebSocketSimulator
from pachinko.testing.trace import Recorded, recording

MARKER = "pachinko_manifest"
ASYNC_MARKER = "pachinko_async"
MANIFEST_OPTION = "pachinko_manifest"
TIMEOUT_OPTION = "pachinko_async_timeout"

# Things to start before an async test body and close after it, in the test's own loop.
_ASYNC = pytest.StashKey[list[Any]]()
_CLIENTS = pytest.StashKey[list[Recorded]]()
_SERVERS = pytest.StashKey[list[LiveServer]]()
# Markers of other async plugins: a test they run is not ours to run.
_FOREIGN_MARKERS = ("asyncio", "anyio", "trio")
# Plugins that may claim unmarked async tests: while one is loaded, pachinko runs only
# the tests marked `pachinko_async`. (anyio's plugin only runs tests marked for it.)
_RUNNER_PLUGINS = ("asyncio", "trio")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        MANIFEST_OPTION,
        "pachinko.toml built by the pachinko_* fixtures (relative to the ini file)",
        default="",
    )
    parser.addini(
        TIMEOUT_OPTION,
        "seconds an `async def` test run by pachinko's runner may take (0: no limit)",
        default="30",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path): the pachinko.toml the pachinko_* fixtures build, "
        "relative to the test file",
    )
    config.addinivalue_line(
        "markers",
        f"{ASYNC_MARKER}: run this async test with pachinko's runner even when "
        "pytest-asyncio or pytest-trio is installed",
    )


# -- running `async def` tests ------------------------------------------------------------


@pytest.hookimpl
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `async def` test with `asyncio.run`, unless another async plugin owns it."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj) or _is_foreign(pyfuncitem):
        return None
    # NOTE: the test's own parameters; funcargs also holds fixtures they requested.
    params = inspect.signature(pyfuncitem.obj).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in params if name in pyfuncitem.funcargs}
    limit = float(pyfuncitem.config.getini(TIMEOUT_OPTION) or 0)
    asyncio.run(_run(pyfuncitem, kwargs, limit or None))
    return True


def _is_foreign(item: pytest.Function) -> bool:
    """Tell whether another plugin runs this test (or may: then only our marker says ours)."""
    if item.get_closest_marker(ASYNC_MARKER):
        return False
    if any(item.get_closest_marker(name) for name in _FOREIGN_MARKERS):
        return True
    if "anyio_backend" in item.fixturenames:
        return True
    plugins = item.config.pluginmanager
    return any(plugins.hasplugin(name) for name in _RUNNER_PLUGINS)


async def _run(item: pytest.Function, kwargs: dict[str, Any], limit: float | None) -> None:
    # NOTE: simulators (and clients) live in this loop: start and close them here, not in
    # fixture code, which runs outside it.
    pending = item.stash.get(_ASYNC, [])
    for resource in pending:
        if isinstance(resource, WebSocketSimulator):
            await resource.start()
    try:
        # NOTE: not `wait_for`: a `ReceiveTimeout` (a TimeoutError) raised by the test itself
        # must surface as that error at the test's own line, not as the runner's limit.
        task = asyncio.ensure_future(item.obj(**kwargs))
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            task.cancel()
            await asyncio.wait({task})
            raise TimeoutError(f"{item.name} did not finish within {limit:g}s ({TIMEOUT_OPTION})")
        task.result()
    except BaseException:
        for resource in reversed(pending):
            try:
                await resource.aclose()
            except Exception:  # NOTE: the test's own failure is the one to show.
                continue
        raise
    errors: list[BaseException] = []
    for resource in reversed(pending):
        try:
            await resource.aclose()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


# -- failure reports ----------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with recording() as clients:
        item.stash[_CLIENTS] = clients
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Add the frames of the test's clients, and its live servers' logs, to a failure."""
    report = yield
    if report.failed:
        clients = item.stash.get(_CLIENTS, [])
        traces = [c.format_trace() for c in clients if c.frames or c.is_closed]
        if traces:
            report.sections.append(("pachinko frames", "\n\n".join(traces)))
        for server in item.stash.get(_SERVERS, []):
            report.sections.append(
                (f"pachinko server log ({server.url})", server.log.getvalue() or "(empty)")
            )
    return report


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def pachinko_manifest_path(request: pytest.FixtureRequest) -> Path:
    """The manifest the pachinko fixtures build (marker, ini option, env, or nearest file)."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and len(marker.args) != 1:
        pytest.fail(f"@pytest.mark.{MARKER} takes one path", pytrace=False)
    found = find_manifest(request.path, request.config, marker.args[0] if marker else None)
    if found is None:
        pytest.fail(
            f"no manifest for the pachinko fixtures: use @pytest.mark.{MARKER}(path), "
            f"the `{MANIFEST_OPTION}` ini option or $PACHINKO_MANIFEST",
            pytrace=False,
        )
    return found


def find_manifest(
    test_file: Path, config: pytest.Config, marked: str | os.PathLike[str] | None = None
) -> Path | None:
    """Find the manifest of a test; None when there is none.

    In order: the marker's path (relative to the test file), the ini option
    (relative to the ini file), `$PACHINKO_MANIFEST`, the nearest `pachinko.toml`
    in the test's folder or above it.
    """
    if marked is not None:
        return test_file.parent / marked
    option = config.getini(MANIFEST_OPTION)
    if option:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return base / option
    env = os.environ.get("PACHINKO_MANIFEST")
    if env:
        return Path(env).absolute()
    for folder in (test_file.parent, *test_file.parent.parents):
        if (folder / "pachinko.toml").is_file():
            return folder / "pachinko.toml"
    return None


@pytest.fixture
def pachinko_app(pachinko_manifest_path: Path) -> falcon.asgi.App:
    """A fresh app built from the manifest (`pachinko.build`)."""
    return build(pachinko_manifest_path)


@pytest.fixture
def pachinko_simulator(
    request: pytest.FixtureRequest, pachinko_app: falcon.asgi.App
) -> WebSocketSimulator:
    """An in-process simulator of `pachinko_app`, started around an `async def` test.

    Under pytest-asyncio or anyio, enter it yourself: `async with pachinko_simulator:`.
    """
    simulator = WebSocketSimulator(pachinko_app)
    request.node.stash.setdefault(_ASYNC, []).append(simulator)
    return simulator


@pytest.fixture
def pachinko_server(
    request: pytest.FixtureRequest, pachinko_app: falcon.asgi.App
) -> Iterator[LiveServer]:
    """`pachinko_app` served by uvicorn on a free loopback port for the test.

    Its log (uvicorn's at INFO: handshakes, refusals; pachinko's errors) is added
    to the report of a failed test.
    """
    # NOTE: uvicorn sets its loggers' levels globally; put them back for other tests.
    loggers = [logging.getLogger(f"uvicorn.{name}") for name in ("error", "access", "asgi")]
    levels = [logger.level for logger in loggers]
    try:
        with LiveServer(pachinko_app, log_level="info") as server:
            request.node.stash.setdefault(_SERVERS, []).append(server)
            yield server
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@pytest.fixture
def pachinko_client(
    request: pytest.FixtureRequest, pachinko_server: LiveServer
) -> Callable[..., WebSocketTestClient]:
    """A factory: `pachinko_client("/ws/chat/lobby", **options)` is a client of the live server.

    Open it with `async with` or `await`; clients still open are closed after the test.
    """
    pending = request.node.stash.setdefault(_ASYNC, [])

    def connect(path: str = "/", **options: Any) -> WebSocketTestClient:
        client = WebSocketTestClient(pachinko_server.url + path, **options)
        pending.append(client)
        return client

    return connect
