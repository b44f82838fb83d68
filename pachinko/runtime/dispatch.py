"""The dispatch tables of one route, computed once: message type -> handler and decoder."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from pachinko.codecs.base import Codec, Decode
from pachinko.runtime.resource import convention_handlers, resource_handlers, snake_case
from pachinko.runtime.stats import RouteStats, TypeStats


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """How one message type of a route is handled (what a manifest `messages` entry says).

    `handler` is `async def handler(conn, payload)`, or None for the route resource's
    own method. `payload_type` None means: the handler's `payload` annotation, else any value.
    """

    type: str
    handler: Callable[..., object] | None = None
    payload_type: object = None
    reply: str | None = None
    strict: bool = True


@dataclass(frozen=True, slots=True)
class Subprotocol:
    """An application subprotocol a route speaks (`[[routes.subprotocols]]`).

    A client offering `name` gets `codec` (None: the app's default), `resource`
    (None: the route's) and the route's messages with `messages` added or
    replacing them type by type.
    """

    name: str
    codec: str | None = None
    resource: type | None = None
    messages: tuple[MessageSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a dispatch table."""

    call: Callable[..., typing.Any]  # handler(conn, payload) or method(resource, conn, payload)
    is_method: bool
    decode: Decode
    convert_type: object  # for flat envelopes: msgspec.convert target
    reply: str
    stats: TypeStats  # the counts of the declared type (client spellings share them)


def payload_type_of(func: Callable[..., object], is_method: bool) -> object:
    """The annotation of a handler's payload parameter, or `object` (any value)."""
    try:
        params = list(inspect.signature(func).parameters.values())
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError):
        return object
    index = 2 if is_method else 1
    if len(params) <= index:
        return object
    return hints.get(params[index].name, object)


def strict_type(type_: object, strict: bool) -> object:
    """A Struct type whose unknown-field policy follows `strict` (top level only)."""
    if not (isinstance(type_, type) and issubclass(type_, msgspec.Struct)):
        return type_
    if type_.__struct_config__.forbid_unknown_fields == strict:
        return type_
    namespace = {"__module__": type_.__module__, "__qualname__": type_.__qualname__}
    return type(type_.__name__, (type_,), namespace, forbid_unknown_fields=strict)


class DispatchTable:
    """Message type -> `Entry` for one route and one codec.

    Manifest/hand-given specs win over the resource's own handlers. Types the
    resource handles by the `on_<snake_case>` convention are found on first use
    and remembered.
    """

    def __init__(
        self,
        codec: Codec,
        specs: tuple[MessageSpec, ...],
        resource: type | None,
        stats: RouteStats | None = None,
    ) -> None:
        self._codec = codec
        self._stats = stats if stats is not None else RouteStats("")
        self._resource = resource
        self._convention = convention_handlers(resource) if resource is not None else {}
        self.entries: dict[str, Entry] = {}
        if resource is not None:
            for type_, name in resource_handlers(resource).items():
                method = getattr(resource, name)
                self.entries[type_] = self._entry(type_, type_, method, True, None, True)
        for spec in specs:
            if spec.handler is None:
                method = self._method_for(spec.type)
                if method is None:
                    raise LookupError(f"no handler for message type {spec.type!r}")
                entry = self._entry(
                    spec.type, spec.type, method, True, spec.payload_type, spec.strict
                )
            else:
                entry = self._entry(
                    spec.type, spec.type, spec.handler, False, spec.payload_type, spec.strict
                )
            if spec.reply:
                entry = Entry(
                    entry.call,
                    entry.is_method,
                    entry.decode,
                    entry.convert_type,
                    spec.reply,
                    entry.stats,
                )
            self.entries[spec.type] = entry

    def _method_for(self, message_type: str) -> Callable[..., object] | None:
        if self._resource is None:
            return None
        name = resource_handlers(self._resource).get(message_type)
        name = name or self._convention.get(snake_case(message_type))
        return getattr(self._resource, name) if name else None

    def _entry(
        self,
        message_type: str,
        label: str,
        func: Callable[..., object],
        is_method: bool,
        payload_type: object,
        strict: bool,
    ) -> Entry:
        if payload_type is None:
            payload_type = payload_type_of(func, is_method)
        target = strict_type(payload_type, strict)
        reply = f"{message_type}.reply"
        stats = self._stats.type_stats(label)
        return Entry(func, is_method, self._codec.decoder(target), target, reply, stats)

    def find(self, message_type: str) -> Entry | None:
        """Return the entry for a type not in `entries` (convention handlers), or None."""
        if not self._convention:
            return None
        method = self._convention.get(snake_case(message_type))
        if method is None:
            return None
        # NOTE: counted under the method's suffix: clients choose the spelling, not the label.
        label = method[3:]
        entry = self._entry(message_type, label, getattr(self._resource, method), True, None, True)
        if len(self.entries) < 1024:  # NOTE: client-chosen spellings; bound the table.
            self.entries[message_type] = entry
        return entry
