"""Stage 3: `Plan` -> `falcon.asgi.App`, built from the same objects users wire by hand."""

from __future__ import annotations

import os
from pathlib import Path

import falcon.asgi

from pachinko.errors import PachinkoError
from pachinko.loader import plan as make_plan
from pachinko.loader.plan import HookPlan, Plan, WorkerPlan
from pachinko.manifest import Manifest, load
from pachinko.runtime.app import App, install
from pachinko.runtime.dispatch import MessageSpec
from pachinko.runtime.health import Health
from pachinko.runtime.hooks import HookMap
from pachinko.runtime.manager import WebSocketConnectionManager
from pachinko.runtime.options import Limits, RoomOptions
from pachinko.runtime.router import WebSocketRouter
from pachinko.runtime.workers import WorkerController, WorkerSpec


def build(manifest_or_path: Manifest | str | os.PathLike[str]) -> falcon.asgi.App:
    """Build the app a manifest describes; raises `ManifestError` when it is not valid.

    Returns a `pachinko.App`, or the app named by `[app] http` extended with the
    WebSocket routes and a lifespan middleware.
    """
    manifest = (
        manifest_or_path if isinstance(manifest_or_path, Manifest) else load(manifest_or_path)
    )
    return build_plan(make_plan(manifest))


def build_plan(plan: Plan) -> falcon.asgi.App:
    """Build an app from a resolved plan."""
    manager = WebSocketConnectionManager(
        plan.backend.cls(plan.backend.config),
        rooms=[
            RoomOptions(r.name, r.presence, r.history, r.max_members, r.history_ttl)
            for r in plan.rooms
        ],
    )
    router = WebSocketRouter(
        manager,
        codecs=[cls() for cls in plan.codecs.values()],
        default_codec=plan.codec,
        envelope=plan.envelope,
        limits=runtime_limits(plan),
        allowed_origins=plan.security.allowed_origins,
        hooks=_hooks(plan.hooks),
    )
    for route in plan.routes:
        router.add_route(
            route.path,
            route.resource,
            messages=[
                # NOTE: `object` means the manifest named no payload type: the handler's
                # own annotation decides (MessageSpec's None).
                MessageSpec(m.type, m.handler, _given(m.payload_type), m.reply, m.strict)
                for m in route.messages
            ],
            join=route.join,
            hooks=_hooks(route.hooks),
            workers=[_worker(w) for w in route.workers],
            name=route.name,
        )
    workers = WorkerController(tuple(_worker(w) for w in plan.workers))
    extensions = [ext.cls(ext.config) for ext in plan.extensions]
    if plan.http_app is None:
        app: falcon.asgi.App = App(router=router, workers=workers, extensions=extensions)
    else:
        app = _http_app(plan.http_app, plan.path)
        install(app, router, workers=workers, extensions=extensions)
    if plan.manifest.app.health:
        app.add_route(plan.manifest.app.health, Health(router.shared))
    return app


def runtime_limits(plan: Plan) -> Limits:
    """The manifest's `[limits]` as the runtime's record."""
    limits = plan.limits
    return Limits(
        max_message_bytes=limits.max_message_bytes,
        rate_count=limits.rate.count,
        rate_per=limits.rate.per,
        burst=limits.burst,
        send_queue=limits.send_queue,
        send_timeout=float(limits.send_timeout),
        ping_interval=float(limits.ping_interval),
        idle_timeout=float(limits.idle_timeout),
        handshake_timeout=float(limits.handshake_timeout),
        max_header_bytes=limits.max_header_bytes,
        max_connections=limits.max_connections,
        max_history_bytes=limits.max_history_bytes,
        shutdown_timeout=float(limits.shutdown_timeout),
    )


def _given(payload_type: object) -> object:
    return None if payload_type is object else payload_type


def _hooks(hooks: HookPlan) -> HookMap:
    return dict(hooks.by_event)


def _worker(worker: WorkerPlan) -> WorkerSpec:
    return WorkerSpec(
        name=worker.name,
        target=worker.target,
        every=None if worker.every is None else float(worker.every),
        args=dict(worker.args),
        restart=worker.restart,
        max_restarts=worker.max_restarts,
        backoff=float(worker.backoff),
    )


def _http_app(target: object, manifest_path: Path) -> falcon.asgi.App:
    app = target if isinstance(target, falcon.asgi.App) else target()  # type: ignore[operator]
    if not isinstance(app, falcon.asgi.App):
        raise PachinkoError(
            f"[app] http in {manifest_path} must name a falcon.asgi.App or a zero-arg factory "
            f"of one; the factory returned {type(app).__name__}"
        )
    return app
