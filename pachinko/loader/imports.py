"""Resolve `"package.module:attr"` import strings, with the manifest's folder on sys.path."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import pkgutil
import re
import sys
import sysconfig
import traceback
from pathlib import Path

from pachinko.manifest.diagnostics import IMPORT_FAILED, INVALID_IMPORT, Problem

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def add_to_path(folder: Path) -> None:
    """Put `folder` first on sys.path unless it is already there."""
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()


def resolve_import(spec: str) -> object:
    """Import `module:attr` (the attr may be dotted) and return the object.

    Raises:
        Problem: `invalid-import` for a malformed string, `import-failed` when the
            module is missing, raises while importing, or lacks the attribute.
    """
    module_name, colon, attr_path = spec.partition(":")
    attrs = attr_path.split(".")
    if not colon or not _MODULE.match(module_name) or not all(a.isidentifier() for a in attrs):
        module_guess, _, attr_guess = spec.rpartition(".")
        is_guessable = not colon and _MODULE.match(module_guess) and attr_guess.isidentifier()
        hint = f"write it as '{module_guess}:{attr_guess}'" if is_guessable else None
        raise Problem(
            INVALID_IMPORT, f"invalid import string {spec!r}: expected 'module:attr'", hint
        )
    cannot = f"cannot import {spec!r}"
    try:
        target = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if _is_missing(error, module_name):
            close = _close_module(module_name)
            hint = "modules are searched in the manifest's folder first, then on sys.path"
            raise Problem(
                IMPORT_FAILED,
                f"{cannot}: no module named {module_name!r}",
                f"did you mean {close!r}?" if close else hint,
            ) from error
        raise _raised(cannot, module_name, error) from error
    except (Exception, SystemExit) as error:
        # NOTE: a module calling sys.exit() on import must not end `pachinko check`.
        raise _raised(cannot, module_name, error) from error
    owner = module_name
    for attr in attrs:
        try:
            target = getattr(target, attr)
        except AttributeError as error:
            what = "module" if owner == module_name else "object"
            close = difflib.get_close_matches(attr, dir(target), n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
            raise Problem(
                IMPORT_FAILED, f"{cannot}: {what} {owner!r} has no attribute {attr!r}", hint
            ) from error
        owner = f"{owner}.{attr}" if owner != module_name else f"{module_name}:{attr}"
    return target


def _is_missing(error: ModuleNotFoundError, module_name: str) -> bool:
    """Tell "the module does not exist" from "the module imports something missing"."""
    missing = error.name or ""
    return module_name == missing or module_name.startswith(missing + ".")


def _close_module(module_name: str) -> str | None:
    """Suggest an importable module whose name is close to a missing one."""
    parent, _, name = module_name.rpartition(".")
    try:
        package = importlib.import_module(parent) if parent else None
    except Exception:  # NOTE: a broken parent is reported by its own import
        return None
    where = getattr(package, "__path__", None) if package else None
    if parent and where is None:
        return None
    names = [found.name for found in pkgutil.iter_modules(where)]
    names += [] if parent else list(sys.builtin_module_names)
    close = difflib.get_close_matches(name, names, n=1)
    return f"{parent}.{close[0]}" if close and parent else (close[0] if close else None)


_LIBRARY = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _user_frame(error: BaseException) -> traceback.FrameSummary | None:
    """The deepest frame of the traceback in the user's own code (not `<frozen os>`)."""
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<")
    ]
    user = [f for f in frames if not f.filename.startswith(_LIBRARY)]
    return (user or frames or [None])[-1]


def _raised(cannot: str, module_name: str, error: BaseException) -> Problem:
    frame = _user_frame(error)
    hint = f"raised at {frame.filename}:{frame.lineno}" if frame else None
    if isinstance(error, SyntaxError) and error.filename:
        hint = f"syntax error at {error.filename}:{error.lineno}"
    return Problem(
        IMPORT_FAILED,
        f"{cannot}: module {module_name!r} raised {type(error).__name__}: {error}",
        hint,
    )


def source_of(func: object, base: Path) -> str:
    """Return `"file.py:LINE"` where `func` is defined (relative to `base` if under it).

    The one "file:line" helper: decorators that keep `__wrapped__` are looked through,
    so file and line both name the user's own `def`.
    """
    while isinstance(func, functools.partial):
        func = func.func
    try:
        func = inspect.unwrap(func)  # type: ignore[arg-type]
        filename = inspect.getsourcefile(func)  # type: ignore[arg-type]
        _, line = inspect.getsourcelines(func)  # type: ignore[arg-type]
    except (TypeError, OSError, ValueError):
        return "?"
    if filename is None:
        return "?"
    path = Path(filename)
    if path.is_relative_to(base):
        path = path.relative_to(base)
    return f"{path}:{max(line, 1)}"
