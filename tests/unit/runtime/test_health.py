"""`Health`: 200 ok, 503 backend_down or draining, read through a tolerant `is_up`."""

from __future__ import annotations

import falcon.testing
import pytest

import pachinko
from pachinko.backends.memory import MemoryBackend
from pachinko.runtime.health import Health, backend_is_up


class Backend(MemoryBackend):
    """The memory backend, with the liveness a networked backend reports."""

    is_up: object = True


def client(backend: MemoryBackend) -> tuple[falcon.testing.TestClient, pachinko.WebSocketRouter]:
    router = pachinko.WebSocketRouter(pachinko.WebSocketConnectionManager(backend))
    app = pachinko.App(router=router)
    app.add_route("/health", Health(router.shared))
    return falcon.testing.TestClient(app), router


def test_a_backend_without_is_up_is_up() -> None:
    assert backend_is_up(MemoryBackend())


@pytest.mark.parametrize("is_up", [False, lambda: False])
def test_a_backend_that_is_down_makes_health_503(is_up: object) -> None:
    backend = Backend()
    backend.is_up = is_up
    http, _ = client(backend)
    answer = http.simulate_get("/health")
    assert (answer.status_code, answer.json) == (503, {"status": "backend_down", "connections": 0})


def test_health_is_ok_then_draining_which_wins_over_backend_down() -> None:
    backend = Backend()
    http, router = client(backend)
    answer = http.simulate_get("/health")
    assert (answer.status_code, answer.json) == (200, {"status": "ok", "connections": 0})
    assert answer.headers["cache-control"] == "no-store"
    backend.is_up = False
    router.shared.is_draining = True
    answer = http.simulate_get("/health")
    assert (answer.status_code, answer.json["status"]) == (503, "draining")
