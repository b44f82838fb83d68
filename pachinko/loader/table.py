"""The routing table of a plan, as `pachinko routes` prints it and `pachinko check` counts it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pachinko.loader.imports import source_of
from pachinko.loader.records import MessageInfo, Plan
from pachinko.runtime.dispatch import MessageSpec, payload_type_of
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
    subprotocol: str = ""  # "" for clients that chose no application subprotocol


def routing_table(plan: Plan) -> list[RouteRow]:
    """One row per message type of every route: the manifest's, then the resource's own.

    A route's subprotocols follow it, each with every message type it serves (its
    own and the route's it keeps). This is the one rule for counting message
    types (`check`'s summary counts distinct path and type pairs).
    """
    rows: list[RouteRow] = []
    base = plan.path.resolve().parent
    for route in plan.routes:
        rows += _rows(route.path, "", route.messages, route.resource, route.info, base)
        for subprotocol in route.subprotocols:
            own = {spec.type for spec in subprotocol.messages}
            specs = tuple(s for s in route.messages if s.type not in own) + subprotocol.messages
            info = {**route.info, **route.subprotocol_info.get(subprotocol.name, {})}
            resource = subprotocol.resource or route.resource
            rows += _rows(route.path, subprotocol.name, specs, resource, info, base)
    return rows


def table_cells(rows: list[RouteRow]) -> list[tuple[str, ...]]:
    """The cells `pachinko routes` prints, header first; SUBPROTOCOL only when a route has one."""
    cells = [("PATH", "TYPE", "HANDLER", "PAYLOAD", "REPLY", "SOURCE")]
    cells += [(r.path, r.type, r.handler, r.payload, r.reply, r.source) for r in rows]
    if not any(r.subprotocol for r in rows):
        return cells  # type: ignore[return-value]
    column = ["SUBPROTOCOL", *(r.subprotocol or "-" for r in rows)]
    return [(row[0], name, *row[1:]) for row, name in zip(cells, column, strict=True)]


def _rows(
    path: str,
    subprotocol: str,
    specs: tuple[MessageSpec, ...],
    resource: type | None,
    info: dict[str, MessageInfo],
    base: Path,
) -> list[RouteRow]:
    rows: list[RouteRow] = []
    for spec in specs:
        is_method = spec.handler is None
        target = _method(resource, spec.type) if is_method else spec.handler
        payload = spec.payload_type
        if payload is None:  # NOTE: not given: the handler's annotation, as at runtime
            payload = payload_type_of(target, is_method=is_method) if target else object
        known = info.get(spec.type)
        rows.append(
            RouteRow(
                path,
                spec.type,
                _name(target),
                _type_name(payload),
                spec.reply or f"{spec.type}.reply",
                known.source if known else source_of(target, base),
                known.summary if known else "",
                subprotocol,
            )
        )
    if resource is None:
        return rows
    declared = {spec.type for spec in specs}
    own = dict(resource_handlers(resource))
    own.update(
        (suffix, name)
        for suffix, name in convention_handlers(resource).items()
        if name not in own.values()
    )
    for type_, name in sorted(own.items()):
        if type_ in declared:
            continue
        method = getattr(resource, name)
        payload = payload_type_of(method, is_method=True)
        rows.append(
            RouteRow(
                path,
                type_,
                _name(method),
                _type_name(payload),
                f"{type_}.reply",
                source_of(method, base),
                subprotocol=subprotocol,
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
