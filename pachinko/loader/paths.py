"""URI templates (checked by Falcon's own router) and room names with placeholders."""

from __future__ import annotations

import re

import falcon.routing

from pachinko.manifest.diagnostics import BAD_PATH, Problem

# NOTE: the field syntax of Falcon URI templates: {name} or {name:converter(args)}.
_FIELD = re.compile(r"\{([^}:]*)(?::[^}]*)?\}")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


class _Dummy:
    """A throwaway responder: only the template is being checked."""

    def on_get(self, req: object, resp: object) -> None:
        """Never called."""


class Templates:
    """A scratch Falcon router that the routes of one manifest are added to, in order."""

    def __init__(self) -> None:
        self._accepted: list[str] = []

    def add(self, template: str) -> None:
        """Compile `template` as Falcon would; raise Problem(`bad-path`) if it cannot be.

        Templates are checked together, so one that conflicts with an earlier one
        (e.g. `/a/{id}` then `/a/{name}/b`) is reported too.
        """
        if not template.startswith("/"):
            raise Problem(BAD_PATH, f"path {template!r} must start with '/'")
        if "{" in _FIELD.sub("", template) or "}" in _FIELD.sub("", template):
            raise Problem(BAD_PATH, f"path {template!r} has an unbalanced '{{' or '}}'")
        router = falcon.routing.CompiledRouter()
        try:
            for accepted in [*self._accepted, template]:
                router.add_route(accepted, _Dummy())
            # NOTE: Falcon compiles lazily; a lookup forces it, so conflicts surface here.
            router.find("/")
        except (ValueError, TypeError) as error:
            raise Problem(
                BAD_PATH,
                f"path {template!r} is not a valid Falcon URI template: {error}",
                "see https://falcon.readthedocs.io/en/stable/api/routing.html",
            ) from error
        self._accepted.append(template)


def fields(template: str) -> list[str]:
    """Return the field names of a URI template, in order."""
    return [match[1] for match in _FIELD.finditer(template)]


def placeholders(name: str) -> list[str]:
    """Return the `{placeholders}` of a room name or pattern."""
    return [match[1] for match in _PLACEHOLDER.finditer(name)]


def room_matches(pattern: str, name: str) -> bool:
    """Tell whether a room `name` (maybe itself a pattern) is one of `pattern`'s rooms.

    `chat:{room}` matches `chat:{room}`, `chat:{id}` and `chat:lobby`.
    """
    if pattern == name:
        return True
    parts = _PLACEHOLDER.split(pattern)
    # NOTE: split() yields literal, name, literal, name, ...; names become wildcards.
    regex = "".join(re.escape(part) if i % 2 == 0 else ".+" for i, part in enumerate(parts))
    return re.fullmatch(regex, name) is not None
