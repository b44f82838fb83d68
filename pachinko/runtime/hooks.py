"""The five hook events and their onion order: global → route → resource → handler → back out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

HOOK_EVENTS = (
    "before_connect",
    "after_connect",
    "before_receive",
    "after_receive",
    "before_disconnect",
)

Hook = Callable[[Any, "HookEvent"], Awaitable[object]]
HookMap = Mapping[str, tuple[Hook, ...]]
#: A route's before_receive and after_receive hooks, outer to inner.
ReceiveHooks = tuple[tuple[Hook, ...], tuple[Hook, ...]]


@dataclass(slots=True)
class Message:
    """A decoded client message, as hooks see it."""

    type: str
    payload: object
    id: str | int | None = None


@dataclass(slots=True)
class HookEvent:
    """What a hook receives beside the connection."""

    kind: str
    message: Message | None = None
    close_code: int | None = None
    error: BaseException | None = None


def chain(event: str, *layers: HookMap) -> tuple[Hook, ...]:
    """Hooks of `event` from outermost to innermost layer; `after_*` hooks run innermost first."""
    hooks = tuple(hook for layer in layers for hook in layer.get(event, ()))
    return tuple(reversed(hooks)) if event.startswith("after_") else hooks


def receive_hooks(layers: tuple[HookMap, ...]) -> ReceiveHooks | None:
    """The before/after_receive hooks of `layers`, or None when there are none."""
    before, after = chain("before_receive", *layers), chain("after_receive", *layers)
    return (before, after) if before or after else None


def resource_hooks(resource: object) -> dict[str, tuple[Hook, ...]]:
    """The hook methods a resource instance defines, bound to it."""
    found: dict[str, tuple[Hook, ...]] = {}
    for event in HOOK_EVENTS:
        method = getattr(resource, event, None)
        if method is not None:
            found[event] = (method,)
    return found


async def run_hooks(hooks: tuple[Hook, ...], conn: object, event: HookEvent) -> None:
    for hook in hooks:
        await hook(conn, event)
