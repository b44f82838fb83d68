"""The routing table of a plan, as `pachinko routes` prints it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from pachinko.loader.plan import Plan
from pachinko.runtime.dispatch import payload_type_of
from pachinko.runtime.resource import convention_handlers, find_handler, resource_handlers


@dataclass(frozen=True, slots=True)
class RouteRow:
    path: str
    type: str
    handler: str
    payload: str
    reply: str
    source: str


def routing_table(plan: Plan) -> list[RouteRow]:
    """One row per message type of every route; a resource's own handlers included."""
    rows: list[RouteRow] = []
    base = plan.path.resolve().parent
    for route in plan.routes:
        declared = {m.type for m in route.messages}
        for message in route.messages:
            if message.handler is not None:
                target, payload = message.handler, message.payload_type
            else:
                target = _method(route.resource, message.type)
                payload = message.payload_type
                if payload is object and target is not None:
                    payload = payload_type_of(target, is_method=True)
            if payload is object and message.handler is not None:
                payload = payload_type_of(message.handler, is_method=False)
            rows.append(
                RouteRow(
                    route.path,
                    message.type,
                    _name(target),
                    _type_name(payload),
                    message.reply,
                    message.source if message.handler is not None else _source(target, base),
                )
            )
        if route.resource is not None:
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
                rows.append(
                    RouteRow(
                        route.path,
                        type_,
                        _name(method),
                        _type_name(payload_type_of(method, is_method=True)),
                        f"{type_}.reply",
                        _source(method, base),
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


def _source(target: object, base: Path) -> str:
    """`file:line` of a handler, relative to the manifest's folder when inside it."""
    try:
        file = Path(inspect.getsourcefile(target) or "?")  # type: ignore[arg-type]
        line = inspect.getsourcelines(target)[1]  # type: ignore[arg-type]
    except (TypeError, OSError):
        return "?"
    return f"{file.relative_to(base) if file.is_relative_to(base) else file}:{line}"
