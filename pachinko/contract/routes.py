"""What the contract commands need of a manifest, read from the loader's `Plan` in one place.

NOTE: this is the only module of `pachinko.contract` that reads `Plan` or `Manifest`
fields; when those records change, only `describe` needs to follow.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from pathlib import Path

from pachinko.errors import ManifestError
from pachinko.loader import examine
from pachinko.loader.records import MessageInfo as LoaderMessageInfo
from pachinko.loader.records import Plan
from pachinko.manifest.locator import Locator
from pachinko.runtime.dispatch import MessageSpec, payload_type_of
from pachinko.runtime.resource import convention_handlers, find_handler, resource_handlers

KeyPath = tuple[str | int, ...]

_FIELD = re.compile(r"\{(\w+)(?::([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Param:
    """A path parameter of a route: its name and Falcon converter (`int`, `uuid`, ...)."""

    name: str
    converter: str | None


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One client message type of a route, and the reply it gets."""

    type: str
    payload: object  # a msgspec type; `object` means any value
    strict: bool
    reply: str
    reply_payload: object  # the handler's return annotation; `object` means any value
    summary: str
    handler: object  # the function or resource method that handles it
    key: KeyPath  # where the manifest declares it; the route's `resource` for class handlers
    is_declared: bool  # True when the manifest has a `messages` entry for it
    has_explicit_reply: bool


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """A WebSocket route: its full path (mount included), parameters and messages."""

    name: str | None
    path: str
    params: tuple[Param, ...]
    messages: tuple[MessageInfo, ...]
    key: KeyPath
    subprotocols: tuple[SubprotocolInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class SubprotocolInfo:
    """An application subprotocol of a route: its codec and every message it serves."""

    name: str
    codec: str  # the subprotocol's own, else the app's
    messages: tuple[MessageInfo, ...]
    key: KeyPath


@dataclass(frozen=True, slots=True)
class AppInfo:
    """The app a manifest describes, as the contract commands see it."""

    path: Path
    name: str
    description: str
    codec: str
    envelope: str  # "nested" | "flat"
    has_presence: bool  # some [[rooms]] entry has presence = true
    routes: tuple[RouteInfo, ...]
    locator: Locator | None

    def locate(self, key: KeyPath) -> tuple[int, int]:
        """Return the line and column of a manifest key (its nearest written ancestor)."""
        return self.locator.locate(key) if self.locator is not None else (1, 1)


def load_app(path: str | Path) -> AppInfo:
    """Load, resolve and describe the manifest at `path`.

    Raises:
        ManifestError: when the manifest is not valid (every diagnostic of `check`).
    """
    result = examine(path)
    if result.plan is None:
        raise ManifestError(result.diagnostics)
    return describe(result.plan)


def describe(plan: Plan) -> AppInfo:
    """Describe a resolved plan: routes, message types (a resource's own ones too), payloads."""
    manifest = plan.manifest
    routes = []
    for index, route in enumerate(plan.routes):
        key: KeyPath = ("routes", index)
        table = manifest.routes[index]
        keys = {spec.type: (*key, "messages", spec.type) for spec in route.messages}
        explicit = {kind for kind, entry in table.messages.items() if entry.reply is not None}
        messages = _messages(
            route.messages, route.resource, route.info, keys, explicit, (*key, "resource")
        )
        subprotocols = []
        # NOTE: a plan exists only for a valid manifest: no subprotocol entry was dropped.
        pairs = zip(route.subprotocols, table.subprotocols, strict=True)
        for j, (subprotocol, entry) in enumerate(pairs):
            at: KeyPath = (*key, "subprotocols", j)
            own = {spec.type for spec in subprotocol.messages}
            specs = tuple(s for s in route.messages if s.type not in own) + subprotocol.messages
            info = {**route.info, **route.subprotocol_info.get(subprotocol.name, {})}
            keys_of = {**keys, **{kind: (*at, "messages", kind) for kind in own}}
            replies = {kind for kind in explicit if kind not in own} | {
                kind for kind, message in entry.messages.items() if message.reply is not None
            }
            resource = subprotocol.resource or route.resource
            where = (*at, "resource") if subprotocol.resource else (*key, "resource")
            found = _messages(specs, resource, info, keys_of, replies, where)
            codec = subprotocol.codec or plan.codec
            subprotocols.append(SubprotocolInfo(subprotocol.name, codec, found, at))
        params = tuple(Param(m[1], m[2]) for m in _FIELD.finditer(route.path))
        routes.append(RouteInfo(route.name, route.path, params, messages, key, tuple(subprotocols)))
    # NOTE: handlers may join any room at run time, so presence is app-wide, not per route.
    has_presence = any(room.presence for room in plan.rooms)
    locator = manifest.locations if isinstance(manifest.locations, Locator) else None
    return AppInfo(
        plan.path, plan.app_name, manifest.app.description, plan.codec, plan.envelope,
        has_presence, tuple(routes), locator,
    )  # fmt: skip


def _messages(
    specs: tuple[MessageSpec, ...],
    resource: type | None,
    info: dict[str, LoaderMessageInfo],
    keys: dict[str, KeyPath],
    explicit: set[str],
    resource_key: KeyPath,
) -> tuple[MessageInfo, ...]:
    """The messages a table of specs and a resource serve (its own handlers after the specs).

    `keys` locates each spec in the manifest; `explicit` are the types with a `reply` key.
    """
    messages = []
    for message in specs:
        handler: object = message.handler
        if handler is None and resource is not None:
            name = find_handler(resource, message.type)
            handler = getattr(resource, name) if name else None
        payload = message.payload_type
        if payload is None:  # NOTE: not given: the handler's annotation decides
            payload = object
            if callable(handler):
                payload = payload_type_of(handler, is_method=message.handler is None)
        messages.append(
            MessageInfo(
                type=message.type,
                payload=payload,
                strict=message.strict,
                reply=message.reply or f"{message.type}.reply",
                reply_payload=_returns(handler),
                summary=info[message.type].summary if message.type in info else "",
                handler=handler,
                key=keys[message.type],
                is_declared=True,
                has_explicit_reply=message.type in explicit,
            )
        )
    if resource is not None:
        declared = {m.type for m in specs}
        own = dict(resource_handlers(resource))
        for suffix, name in convention_handlers(resource).items():
            if name not in own.values():
                own[suffix] = name
        for type_, name in sorted(own.items()):
            if type_ in declared:
                continue
            method = getattr(resource, name)
            messages.append(
                MessageInfo(
                    type=type_,
                    payload=payload_type_of(method, is_method=True),
                    strict=True,
                    reply=f"{type_}.reply",
                    reply_payload=_returns(method),
                    summary="",
                    handler=method,
                    key=resource_key,
                    is_declared=False,
                    has_explicit_reply=False,
                )
            )
    return tuple(messages)


def _returns(handler: object) -> object:
    """The type a handler returns when it replies (its return annotation minus None)."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # NOTE: user annotations may fail to resolve in many ways.
        return object
    hint = hints.get("return", object)
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if hint is type(None) or hint is None:
        return object
    if type(None) in typing.get_args(hint):
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return hint
