"""Checks of resolved user objects: handlers, hooks, workers, payload types, resources, apps.

Each check raises `Problem` (located by the caller) or returns normally.
"""

from __future__ import annotations

import functools
import inspect

import falcon
import falcon.asgi
import msgspec

from pachinko.manifest.diagnostics import (
    BAD_HTTP_APP,
    BAD_PAYLOAD_TYPE,
    BAD_RESOURCE,
    BAD_SIGNATURE,
    NOT_ASYNC,
    NOT_CALLABLE,
    Problem,
)
from pachinko.runtime.resource import WebSocketResource


def is_async(func: object) -> bool:
    """Tell whether calling `func` returns an awaitable coroutine."""
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(inspect.unwrap(func)):  # type: ignore[arg-type]
        return True
    if not inspect.isroutine(func) and not inspect.isclass(func):
        # NOTE: an instance with `async def __call__`.
        return inspect.iscoroutinefunction(vars(type(func)).get("__call__"))
    return False


def check_callable(
    func: object, spec: str, role: str, params: str, args: dict[str, object] | None = None
) -> None:
    """Check that `func` is an `async def` that can be called as `role(params)`.

    `args` are keyword arguments the manifest passes after one positional (workers).
    """
    if not callable(func):
        raise Problem(
            NOT_CALLABLE,
            f"{role} {spec!r} is a {type(func).__name__}, not a function",
            f"point it at 'async def {_name(spec)}({params})'",
        )
    if not is_async(func):
        raise Problem(
            NOT_ASYNC,
            f"{role} {spec!r} is not a coroutine function",
            f"declare it with 'async def {_name(spec)}({params})'",
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # NOTE: builtins and some C callables have no signature; trust them.
    positional = (None,) * (1 if args is not None else len(params.split(",")))
    try:
        signature.bind(*positional, **(args or {}))
    except TypeError as error:
        key = _offending_arg(signature, args or {})
        call = params if args is None else ", ".join(["ctx", *(f"{n}=..." for n in args)])
        raise Problem(
            BAD_SIGNATURE,
            f"{role} {spec!r} cannot be called as ({call}): {error}",
            f"define it as 'async def {_name(spec)}({params})'",
            key=("args", key) if key else None,
        ) from error


def _offending_arg(signature: inspect.Signature, args: dict[str, object]) -> str | None:
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for name in args:
        param = signature.parameters.get(name)
        if not accepts_any and (param is None or param.kind is param.POSITIONAL_ONLY):
            return name
    return None


def _name(spec: str) -> str:
    return spec.rpartition(":")[2].rpartition(".")[2] or "handler"


def check_payload_type(payload_type: object, spec: str) -> None:
    """Check that msgspec can decode frames into `payload_type` without a dec_hook."""
    try:
        msgspec.json.Decoder(payload_type)
        info = msgspec.inspect.type_info(payload_type)  # type: ignore[arg-type]
    except Exception as error:
        raise Problem(
            BAD_PAYLOAD_TYPE,
            f"payload type {spec!r} cannot be decoded by msgspec: {error}",
            "use a msgspec.Struct, a dataclass, a TypedDict or a builtin type",
        ) from error
    custom = _custom_type(info, set())
    if custom is not None:
        where = "" if custom is payload_type else f" (it contains {custom.__qualname__})"
        raise Problem(
            BAD_PAYLOAD_TYPE,
            f"payload type {spec!r} cannot be decoded by msgspec{where}: "
            f"{custom.__qualname__} is not a type msgspec supports",
            "use a msgspec.Struct, a dataclass, a TypedDict or a builtin type",
        )


def _custom_type(info: object, seen: set[int]) -> type | None:
    """Find a class msgspec would need a dec_hook for, anywhere inside `info`."""
    if id(info) in seen:
        return None
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.CustomType):
        return None if info.cls is object else info.cls
    if isinstance(info, (tuple, list)):
        children = list(info)
    elif isinstance(info, (msgspec.inspect.Type, msgspec.inspect.Field)):
        children = [getattr(info, name) for name in info.__struct_fields__]
    else:
        return None
    for child in children:
        found = _custom_type(child, seen)
        if found is not None:
            return found
    return None


def check_resource(resource: object, spec: str) -> None:
    """Check that `resource` is a `WebSocketResource` subclass."""
    if not (isinstance(resource, type) and issubclass(resource, WebSocketResource)):
        what = "" if isinstance(resource, type) else f"a {type(resource).__name__}, "
        raise Problem(
            BAD_RESOURCE,
            f"resource {spec!r} is {what}not a subclass of pachinko.WebSocketResource",
            f"declare it as 'class {_name(spec)}(pachinko.WebSocketResource)'",
        )


def check_http_app(app: object, spec: str) -> None:
    """Check that `app` is a `falcon.asgi.App` or a zero-argument factory of one.

    The factory is not called here: checking must not start the user's app.
    """
    if isinstance(app, falcon.asgi.App):
        return
    hint = "point it at a falcon.asgi.App instance, or a function that takes no arguments"
    if isinstance(app, falcon.App):
        raise Problem(
            BAD_HTTP_APP,
            f"http app {spec!r} is a WSGI falcon.App; pachinko needs a falcon.asgi.App",
            "create it with falcon.asgi.App()",
        )
    if not callable(app):
        raise Problem(
            BAD_HTTP_APP,
            f"http app {spec!r} is a {type(app).__name__}, not a falcon.asgi.App",
            hint,
        )
    if isinstance(app, type) and not issubclass(app, falcon.asgi.App):
        raise Problem(
            BAD_HTTP_APP, f"http app {spec!r} is a class that is not a falcon.asgi.App", hint
        )
    try:
        inspect.signature(app).bind()
    except ValueError:
        return
    except TypeError as error:
        raise Problem(
            BAD_HTTP_APP, f"http app factory {spec!r} cannot be called without arguments", hint
        ) from error
