"""The routing table of a plan, as `pachinko routes` prints it and `pachinko check` counts it."""

from __future__ import annotations

from dataclasses import dataclass

from pachinko.loader.imports import source_of
from pachinko.loader.records import Plan
from pachinko.runtime.dispatch import payload_type_of
from pachinko.runtime.resource import convention_handlers, find_handler, resource_handlers


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One message type of one route."""

    path: str
    type: str
    handler: str
    payload: str
    reply: str
    source: str
    summary: str = ""


def routing_table(plan: Plan) -> list[RouteRow]:
    """One row per message type of every route: the manifest's, then the resource's own.

    This is the one rule for counting message types (`check`'s summary uses it too).
    """
    rows: list[RouteRow] = []
    base = plan.path.resolve().parent
    for route in plan.routes:
        for spec in route.messages:
            is_method = spec.handler is None
            target = _method(route.resource, spec.type) if is_method else spec.handler
            payload = spec.payload_type
            if payload is None:  # NOTE: not given: the handler's annotation, as at runtime
                payload = payload_type_of(target, is_method=is_method) if target else object
            info = route.info.get(spec.type)
            rows.append(
                RouteRow(
                    route.path,
                    spec.type,
                    _name(target),
                    _type_name(payload),
                    spec.reply or f"{spec.type}.reply",
                    info.source if info else source_of(target, base),
                    info.summary if info else "",
                )
            )
        if route.resource is None:
            continue
        declared = {spec.type for spec in route.messages}
        own = dict(resource_handlers(route.resource))
        own.update(
            (suffix, name)
            for suffix, name in convention_handlers(route.resource).items()
            if name not in own.values()
        )
        for type_, name in sorted(own.items()):
            if type_ in declared:
                continue
            method = getattr(route.resource, name)
            payload = payload_type_of(method, is_method=True)
            rows.append(
                RouteRow(
                    route.path,
                    type_,
                    _name(method),
                    _type_name(payload),
                    f"{type_}.reply",
                    source_of(method, base),
                )
            )
    return rows


def _method(resource: type | None, message_type: str) -> object:
    if resource is None:
        return None
    name = find_handler(resource, message_type)
    return getattr(resource, name) if name else None


def _name(target: object) -> str:
    if target is None:
        return "?"
    module = getattr(target, "__module__", "?")
    return f"{module}:{getattr(target, '__qualname__', repr(target))}"


def _type_name(type_: object) -> str:
    if type_ is object:
        return "any"
    if isinstance(type_, type):
        return type_.__qualname__
    return repr(type_).replace("typing.", "")
