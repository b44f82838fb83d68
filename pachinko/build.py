"""Stage 3: `Plan` -> `falcon.asgi.App`: wiring only, the plan holds the runtime's records."""

from __future__ import annotations

import os
from pathlib import Path

import falcon.asgi

from pachinko.errors import PachinkoError
from pachinko.loader import Plan, plan
from pachinko.manifest import Manifest, read
from pachinko.runtime.app import App, install
from pachinko.runtime.health import Health
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.router import WebSocketRouter
from pachinko.runtime.workers import WorkerController


def build(manifest_or_path: Manifest | str | os.PathLike[str]) -> falcon.asgi.App:
    """Build the app a manifest describes; raises `ManifestError` when it is not valid.

    Returns a `pachinko.App`, or the app named by `[app] http` extended with the
    WebSocket routes and a lifespan middleware.
    """
    manifest = (
        manifest_or_path if isinstance(manifest_or_path, Manifest) else read(manifest_or_path)
    )
    return build_plan(plan(manifest))


def build_plan(plan: Plan) -> falcon.asgi.App:
    """Build an app from a resolved plan."""
    manager = WebSocketConnectionManager(plan.backend.cls(plan.backend.config), rooms=plan.rooms)
    router = WebSocketRouter(
        manager,
        codecs=[cls() for cls in plan.codecs.values()],
        default_codec=plan.codec,
        envelope=plan.envelope,
        limits=plan.limits,
        allowed_origins=plan.allowed_origins,
        hooks=plan.hooks,
    )
    for route in plan.routes:
        router.add_route(
            route.path,
            route.resource,
            messages=route.messages,
            join=route.join,
            hooks=route.hooks,
            workers=route.workers,
            name=route.name,
            subprotocols=route.subprotocols,
        )
    workers = WorkerController(plan.workers)
    extensions = [ext.cls(ext.config) for ext in plan.extensions]
    if plan.http_app is None:
        app: falcon.asgi.App = App(router=router, workers=workers, extensions=extensions)
    else:
        app = _http_app(plan.http_app, plan.path)
        install(app, router, workers=workers, extensions=extensions)
    if plan.manifest.app.health:
        app.add_route(plan.manifest.app.health, Health(router.shared))
    return app


def _http_app(target: object, manifest_path: Path) -> falcon.asgi.App:
    app = target if isinstance(target, falcon.asgi.App) else target()  # type: ignore[operator]
    if not isinstance(app, falcon.asgi.App):
        raise PachinkoError(
            f"[app] http in {manifest_path} must name a falcon.asgi.App or a zero-arg factory "
            f"of one; the factory returned {type(app).__name__}"
        )
    return app
