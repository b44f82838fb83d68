"""The private names of Falcon that pachinko relies on still exist, and mean what we think."""

from __future__ import annotations

import falcon.asgi
import pytest

import pachinko
from pachinko import shim


@pytest.mark.parametrize(
    ("owner", "name"), [(owner, name) for owner, names in shim.NAMES.items() for name in names]
)
def test_each_private_name_exists(owner: type, name: str) -> None:
    assert hasattr(owner, name) or name in getattr(owner, "__slots__", ())


def test_app_middleware_lists_what_add_middleware_added() -> None:
    class Middleware:
        async def process_request(self, req: object, resp: object) -> None:
            pass

    app = falcon.asgi.App()
    middleware = Middleware()
    app.add_middleware(middleware)
    assert list(shim.app_middleware(app)) == [middleware]


def test_the_manager_of_an_installed_app_is_found_through_its_middleware() -> None:
    app = falcon.asgi.App()
    manager = pachinko.install(app)
    assert pachinko.connection_manager(app) is manager


def test_the_uvicorn_internals_pachinko_serve_builds_on_exist() -> None:
    # pachinko/serve hands plain HTTP to uvicorn's own protocol, constructed as uvicorn
    # does, and keeps uvicorn's connection and task sets up to date.
    import inspect

    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    from uvicorn.server import ServerState

    state = ServerState()
    assert isinstance(state.connections, set)
    assert isinstance(state.tasks, set)
    params = list(inspect.signature(AutoHTTPProtocol.__init__).parameters)
    assert params[:5] == ["self", "config", "server_state", "app_state", "_loop"]
