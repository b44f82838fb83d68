"""Shared test setup.

`async def` tests are run by pachinko's own pytest plugin (`pachinko.testing.plugin`,
registered through the `pytest11` entry point), each on a fresh event loop and
bounded by its `pachinko_async_timeout` ini option (30 s).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("pachinko"):
        raise pytest.UsageError(
            "pachinko's pytest plugin is not registered (it runs the async tests): "
            "reinstall with `pip install -e .` (./scripts/setup)"
        )
