"""Resolve a route's `[[routes.subprotocols]]` into the runtime's `Subprotocol` records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pachinko.loader import checks
from pachinko.loader.plugins import CODECS, Registry
from pachinko.loader.records import MessageInfo
from pachinko.loader.selection import choose
from pachinko.manifest.diagnostics import (
    DUPLICATE_SUBPROTOCOL,
    MISSING_HANDLER,
    RESERVED_SUBPROTOCOL,
    Collector,
    KeyPath,
)
from pachinko.manifest.model import MessageTable, Route, SubprotocolTable
from pachinko.runtime.dispatch import MessageSpec, Subprotocol
from pachinko.runtime.resource import find_handler

Check = Callable[[object, str], None]


class Resolver(Protocol):
    """What resolving subprotocols needs of the loader's resolver (`loader.resolve`)."""

    registry: Registry
    report: Collector
    codecs: dict[str, type]

    def is_broken(self, key: KeyPath) -> bool: ...

    def resolve(self, key: KeyPath, spec: str | None, check: Check | None = None) -> object: ...

    def message(
        self,
        key: KeyPath,
        kind: str,
        entry: MessageTable,
        resource_spec: str | None,
        resource: object,
        owner: KeyPath,
    ) -> tuple[MessageSpec, MessageInfo]: ...


def resolve_subprotocols(
    resolver: Resolver, i: int, route: Route, resource: object
) -> tuple[tuple[Subprotocol, ...], dict[str, dict[str, MessageInfo]]]:
    """The subprotocols of route `i` and, by name, what `pachinko routes` shows of their messages.

    `resource` is the route's resolved resource (None when it has none or failed).
    """
    # NOTE: every route already speaks the codecs' own subprotocols; from the registry.
    reserved = {getattr(cls, "subprotocol", None): name for name, cls in resolver.codecs.items()}
    first: dict[str, KeyPath] = {}
    for name in getattr(resource, "subprotocols", ()):
        first.setdefault(name, ("routes", i, "resource"))
    records: list[Subprotocol] = []
    infos: dict[str, dict[str, MessageInfo]] = {}
    for j, table in enumerate(route.subprotocols):
        key: KeyPath = ("routes", i, "subprotocols", j)
        if resolver.is_broken(key):
            continue
        _check_name(resolver, route, table, key, reserved, first)
        codec_key = (*key, "codec")
        codec = table.codec
        if codec is not None and codec not in resolver.codecs and not resolver.is_broken(codec_key):
            choose(resolver.registry, resolver.report, CODECS, codec, codec_key)
        own = resolver.resolve((*key, "resource"), table.resource, checks.check_resource)
        serving = own if table.resource is not None else resource
        owner = key if table.resource is not None else ("routes", i)
        spec_of = table.resource or route.resource
        resolved = {
            kind: resolver.message((*key, "messages", kind), kind, entry, spec_of, serving, owner)
            for kind, entry in table.messages.items()
            if not resolver.is_broken((*key, "messages", kind))
        }
        if isinstance(own, type):
            _check_inherited(resolver, route, table, own, key)
        records.append(
            Subprotocol(
                table.name,
                table.codec,
                own if isinstance(own, type) else None,
                tuple(spec for spec, _ in resolved.values()),
            )
        )
        infos[table.name] = {kind: info for kind, (_, info) in resolved.items()}
    return tuple(records), infos


def _check_name(
    resolver: Resolver,
    route: Route,
    table: SubprotocolTable,
    key: KeyPath,
    reserved: dict[object, str],
    first: dict[str, KeyPath],
) -> None:
    where = (*key, "name")
    if resolver.is_broken(where):
        return
    name = table.name
    if name in reserved:
        message = f"subprotocol {name!r} is codec {reserved[name]!r}'s own"
        hint = "every route speaks it already; give yours another name"
        resolver.report.error(where, RESERVED_SUBPROTOCOL, message, hint)
    elif name in first:
        line, _ = resolver.report.locate(first[name])
        by_class = first[name][-1] == "resource"
        message = f"route {route.path!r} lists subprotocol {name!r} twice"
        if by_class:
            message = f"{route.resource} already names subprotocol {name!r} (its `subprotocols`)"
        resolver.report.error(where, DUPLICATE_SUBPROTOCOL, message, f"the first is at line {line}")
    else:
        first[name] = where


def _check_inherited(
    resolver: Resolver, route: Route, table: SubprotocolTable, own: type, key: KeyPath
) -> None:
    """Report route messages served by the resource that the subprotocol's resource lacks."""
    for kind, entry in route.messages.items():
        if kind in table.messages or entry.handler is not None:
            continue
        if find_handler(own, kind) is None:
            message = (
                f"subprotocol {table.name!r}: {table.resource} has no method for "
                f"the route's message {kind!r}"
            )
            hint = (
                f"add @handles_message({kind!r}) on a method, or give this subprotocol "
                f"[messages.{kind}] with a handler"
            )
            resolver.report.error((*key, "resource"), MISSING_HANDLER, message, hint)
