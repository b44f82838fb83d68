"""`Health`: the `[app] health` HTTP resource, for load balancers and Kubernetes probes."""

from __future__ import annotations

import falcon
import falcon.asgi

from pachinko.runtime.shared import Shared


def backend_is_up(backend: object) -> bool:
    """Whether the backend says it can reach its peers.

    A backend reports it with an `is_up` attribute or property (a bool, or a
    zero-argument callable returning one); a backend without it (the `memory`
    one: nothing to lose) is always up.
    """
    is_up = getattr(backend, "is_up", True)
    return bool(is_up() if callable(is_up) else is_up)


class Health:
    """Answers GET with `{"status": "ok"|"draining"|"backend_down", "connections": N}`.

    200 when serving; 503 while the server shuts down (`draining`, which wins)
    or while the backend is down. `connections` counts this process's.
    """

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def status(self) -> str:
        """The current status word."""
        if self.shared.is_draining:
            return "draining"
        if not backend_is_up(self.shared.manager.backend):
            return "backend_down"
        return "ok"

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        status = self.status()
        resp.status = falcon.HTTP_200 if status == "ok" else falcon.HTTP_503
        resp.cache_control = ["no-store"]
        resp.media = {"status": status, "connections": self.shared.manager.count()}
