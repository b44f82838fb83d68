"""Stage 2: resolve a `Manifest` into a `Plan`, collecting every problem before raising."""

from __future__ import annotations

from pathlib import Path

from pachinko.errors import ManifestError
from pachinko.loader import checks
from pachinko.loader.imports import add_to_path, resolve_import, source_of
from pachinko.loader.paths import Templates
from pachinko.loader.plugins import BACKENDS, EXTENSIONS, Registry
from pachinko.loader.records import MessageInfo, Plan, RoutePlan, runtime_limits
from pachinko.loader.rooms import check_joins, check_unjoined_history
from pachinko.loader.selection import choose, choose_codecs, configure
from pachinko.loader.subprotocols import Check, resolve_subprotocols
from pachinko.manifest.diagnostics import (
    BAD_PATH,
    DUPLICATE_NAME,
    DUPLICATE_PATH,
    HANDLER_OVERRIDE,
    MISSING_HANDLER,
    PER_PROCESS_BACKEND,
    Collector,
    KeyPath,
    Problem,
)
from pachinko.manifest.model import Hooks, Manifest, MessageTable, Route, RouteWorker, Worker
from pachinko.runtime.dispatch import MessageSpec
from pachinko.runtime.hooks import HOOK_EVENTS, HookMap
from pachinko.runtime.options import RoomOptions
from pachinko.runtime.resource import find_handler
from pachinko.runtime.workers import WorkerSpec


def plan(manifest: Manifest, registry: Registry | None = None, *, processes: int = 1) -> Plan:
    """Resolve every import, signature and plugin of `manifest`.

    `processes` is how many server processes will run it (`serve --workers`).
    The manifest's own structural diagnostics are reported with the loader's.

    Raises:
        ManifestError: with every error found (and the warnings), in file order.
    """
    return _Resolver(manifest, registry or Registry(), processes).plan()


class _Resolver:
    """One pass over a manifest; each section is checked on its own."""

    def __init__(self, manifest: Manifest, registry: Registry, processes: int) -> None:
        self.manifest = manifest
        self.registry = registry
        self.processes = processes
        self.report = Collector(Path(manifest.path), manifest.locations)  # type: ignore[arg-type]
        self.report.extend(manifest.diagnostics)  # type: ignore[arg-type]
        self.folder = Path(manifest.path).parent
        self.seen: dict[tuple[str, str], KeyPath] = {}  # (kind, name) -> first key
        self.codecs: dict[str, type] = {}  # every installed codec, by name

    def is_broken(self, key: KeyPath) -> bool:
        """Tell whether the manifest replaced the value at `key` (or around it) by a filler."""
        return self.manifest.is_broken(key)

    def plan(self) -> Plan:
        add_to_path(self.folder)
        app = self.manifest.app
        mount = app.mount.rstrip("/")
        if mount and not mount.startswith("/"):
            message = f"mount {app.mount!r} must start with '/'"
            self.report.error(("app", "mount"), BAD_PATH, message, f"write '/{mount}'")
            mount = f"/{mount}"  # NOTE: so that each route is not reported for it too.
        http_app = self.resolve(("app", "http"), app.http, checks.check_http_app)
        codecs = self.codecs = choose_codecs(self.registry, self.report, app.codec)
        backend = None
        use = self.manifest.backend.use
        if not self.is_broken(("backend", "use")):
            chosen = choose(self.registry, self.report, BACKENDS, use, ("backend", "use"))
            backend = configure(self.report, chosen, self.manifest.backend.config)
            if use == "memory" and self.processes > 1:
                self.report.warning(
                    ("backend", "use"), PER_PROCESS_BACKEND,
                    f"{self.processes} server processes with the in-process 'memory' backend: "
                    "rooms, presence, history and app workers are per process",
                    'use a shared backend, e.g. use = "redis" (pachinko-redis)',
                )  # fmt: skip
        extensions = []
        for name, data in self.manifest.plugins.items():
            chosen = choose(self.registry, self.report, EXTENSIONS, name, ("plugins", name))
            if not self.is_broken(("plugins", name)):
                extensions.append(configure(self.report, chosen, data))
        rooms = tuple(self.room(i) for i in range(len(self.manifest.rooms)))
        hooks = self.hooks(self.manifest.hooks, ("hooks",))
        templates = Templates()
        routes = tuple(
            self.route(i, route, mount, templates)
            for i, route in enumerate(self.manifest.routes)
            if not self.is_broken(("routes", i))
        )
        workers = tuple(
            self.worker(("workers", i), worker)
            for i, worker in enumerate(self.manifest.workers)
            if not self.is_broken(("workers", i))
        )
        check_unjoined_history(self.report, self.manifest)
        if self.report.has_errors:
            raise ManifestError(self.report.sorted())
        return Plan(
            manifest=self.manifest,
            path=Path(self.manifest.path),
            app_name=app.name or self.folder.name,
            http_app=http_app,
            codec=app.codec,
            codecs=codecs,
            envelope=app.envelope,
            limits=runtime_limits(self.manifest.limits),
            allowed_origins=tuple(self.manifest.security.allowed_origins),
            backend=backend,  # type: ignore[arg-type]
            extensions=tuple(extensions),  # type: ignore[arg-type]
            rooms=rooms,
            hooks=hooks,
            routes=routes,
            workers=workers,
            warnings=self.report.sorted(),
        )

    def resolve(self, key: KeyPath, spec: str | None, check: Check | None = None) -> object:
        """Import `spec` and run `check` on it; record a problem at `key` and return None."""
        if spec is None or self.is_broken(key):
            return None
        try:
            target = resolve_import(spec)
            if check is not None:
                check(target, spec)
        except Problem as problem:
            self.report.add(key, problem)
            return None
        return target

    def unique(self, kind: str, name: str, key: KeyPath) -> None:
        """Report `name` if another `kind` of that name came before it."""
        if self.is_broken(key):
            return
        first = self.seen.setdefault((kind, name), key)
        if first != key:
            line, _ = self.report.locate(first)
            hint = f"the first is at line {line}"
            self.report.error(key, DUPLICATE_NAME, f"duplicate {kind} name {name!r}", hint)

    def room(self, i: int) -> RoomOptions:
        room = self.manifest.rooms[i]
        self.unique("room", room.name, ("rooms", i, "name"))
        return RoomOptions(
            room.name, room.presence, room.history, room.max_members, float(room.history_ttl)
        )

    def hooks(self, table: Hooks, key: KeyPath) -> HookMap:
        by_event = {}
        for event in HOOK_EVENTS:
            specs = getattr(table, event)
            found = [
                self.resolve((*key, event, j), spec, _hook_check) for j, spec in enumerate(specs)
            ]
            if specs:
                by_event[event] = tuple(found)
        return by_event  # type: ignore[return-value]

    def route(self, i: int, route: Route, mount: str, templates: Templates) -> RoutePlan:
        key: KeyPath = ("routes", i)
        full = mount + route.path
        if route.name is not None:
            self.unique("route", route.name, (*key, "name"))
        if not self.is_broken((*key, "path")):
            self.path(key, route, full, templates)
        resource = self.resolve((*key, "resource"), route.resource, checks.check_resource)
        messages = {}
        for kind, entry in route.messages.items():
            if not self.is_broken((*key, "messages", kind)):
                where = (*key, "messages", kind)
                found = self.message(where, kind, entry, route.resource, resource, key)
                messages[kind] = found
        subprotocols, subprotocol_info = resolve_subprotocols(self, i, route, resource)
        return RoutePlan(
            path=full,
            name=route.name,
            join=tuple(route.join),
            resource=resource,  # type: ignore[arg-type]
            hooks=self.hooks(route.hooks, (*key, "hooks")),
            messages=tuple(spec for spec, _ in messages.values()),
            workers=tuple(
                self.worker((*key, "workers", j), w)
                for j, w in enumerate(route.workers)
                if not self.is_broken((*key, "workers", j))
            ),
            info={kind: info for kind, (_, info) in messages.items()},
            subprotocols=subprotocols,
            subprotocol_info=subprotocol_info,
        )

    def path(self, key: KeyPath, route: Route, full: str, templates: Templates) -> None:
        """Check a route's path and the placeholders of its `join` entries."""
        first = self.seen.setdefault(("path", full), (*key, "path"))
        if not route.path.startswith("/"):
            hint = f"write '/{route.path}'"
            problem = Problem(BAD_PATH, f"path {route.path!r} must start with '/'", hint)
            self.report.add((*key, "path"), problem)
        elif first != (*key, "path"):
            line, _ = self.report.locate(first)
            hint = f"the first is at line {line}"
            self.report.error((*key, "path"), DUPLICATE_PATH, f"duplicate path {full!r}", hint)
        else:
            try:
                templates.add(full)
            except Problem as problem:
                self.report.add((*key, "path"), problem)
        check_joins(self.report, self.manifest, key, full)

    def message(
        self,
        key: KeyPath,
        kind: str,
        entry: MessageTable,
        resource_spec: str | None,
        resource: object,
        owner: KeyPath,
    ) -> tuple[MessageSpec, MessageInfo]:
        """Resolve one `messages` entry of the table at `owner` (a route or a subprotocol)."""
        method = find_handler(resource, kind) if isinstance(resource, type) else None
        handler = self.resolve((*key, "handler"), entry.handler, _handler_check)
        # NOTE: a misspelt `handler` or an invalid `resource` was reported already.
        is_moot = self.manifest.has_broken_part(key) or self.is_broken((*owner, "resource"))
        if entry.handler is not None and method is not None:
            message = f"handler {entry.handler!r} overrides {resource_spec}.{method} for {kind!r}"
            hint = "the manifest's handler wins; remove one of them"
            self.report.warning((*key, "handler"), HANDLER_OVERRIDE, message, hint)
        elif entry.handler is None and is_moot:
            pass
        elif entry.handler is None and resource_spec is None:
            hint = 'add handler = "module:function", or a resource with a method for it'
            self.report.error(key, MISSING_HANDLER, f"message {kind!r} has no handler", hint)
        elif entry.handler is None and resource is not None and method is None:
            hint = f'add handler = "module:function", or @handles_message({kind!r}) on a method'
            message = f"message {kind!r} has no handler: {resource_spec} has no method for it"
            self.report.error(key, MISSING_HANDLER, message, hint)
        elif entry.handler is None and method is not None:
            self.resolve(key, f"{resource_spec}.{method}", _method_check)
        payload = self.resolve((*key, "payload"), entry.payload, checks.check_payload_type)
        code = handler if handler is not None else getattr(resource, method or "", None)
        spec = MessageSpec(
            type=kind,
            handler=handler,  # type: ignore[arg-type]
            # NOTE: None is "not given" (the handler's annotation decides); any type given,
            # `object` included, wins over the annotation.
            payload_type=payload,
            reply=entry.reply or f"{kind}.reply",
            strict=entry.strict,
        )
        source = source_of(code, self.folder) if code is not None else "?"
        return spec, MessageInfo(entry.summary, source)

    def worker(self, key: KeyPath, worker: Worker | RouteWorker) -> WorkerSpec:
        if isinstance(worker, Worker):
            self.unique("worker", worker.name, (*key, "name"))
        target: object = None
        if not self.is_broken((*key, "target")):
            try:
                target = resolve_import(worker.target)
                checks.check_callable(target, worker.target, "worker", "ctx, **args", worker.args)
            except Problem as problem:
                # NOTE: an argument the worker does not accept is reported at that argument.
                where = (*key, *problem.key) if problem.key else (*key, "target")
                problem.key = None
                self.report.add(where, problem)
        name = worker.name if isinstance(worker, Worker) else worker.target
        options = {}
        if isinstance(worker, Worker):
            options = dict(
                restart=worker.restart,
                max_restarts=worker.max_restarts,
                backoff=float(worker.backoff),
            )
        every = None if worker.every is None else float(worker.every)
        return WorkerSpec(name, target, every, dict(worker.args), **options)  # type: ignore[arg-type]


def _hook_check(target: object, spec: str) -> None:
    checks.check_callable(target, spec, "hook", "conn, event")


def _handler_check(target: object, spec: str) -> None:
    checks.check_callable(target, spec, "handler", "conn, payload")


def _method_check(target: object, spec: str) -> None:
    checks.check_callable(target, spec, "handler", "self, conn, payload")
