"""`pachinko serve --reload`: follow the manifest and the modules it names; serve no broken edit.

One supervisor process holds the listening socket and runs the server in a child
process. When a watched file changes, the manifest is checked first, in a fresh
process (`pachinko check`, so a broken edit prints exactly its diagnostics); only a
manifest that passes replaces the running server. A child that cannot start (or
stops on its own) leaves the socket closed, so clients are refused, not left
hanging, until the next good edit.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvicorn
import watchfiles

log = logging.getLogger("pachinko.reload")
Child = Callable[[uvicorn.Config, socket.socket], None]

_LIBRARY = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)
_PACKAGE = str(Path(__file__).resolve().parent)


def user_folders(manifest: Path, modules: Iterable[Any] = ()) -> set[Path]:
    """The folders to watch: the manifest's, and those of the user modules imported so far.

    Run in the process that checked the manifest: every module it names (and what
    they import) is in `sys.modules` then.
    """
    folders = {manifest.resolve().parent}
    for module in modules or list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or file.startswith(_LIBRARY) or file.startswith(_PACKAGE):
            continue
        folders.add(Path(file).resolve().parent)
    # NOTE: a folder inside another one is watched through it (watching is recursive).
    return {f for f in folders if not any(o != f and f.is_relative_to(o) for o in folders)}


def is_watched(manifest: Path) -> Any:
    """A watchfiles filter: the manifest itself, and Python sources."""
    target = manifest.resolve()

    def accept(change: watchfiles.Change, path: str) -> bool:
        return path.endswith(".py") or Path(path).resolve() == target

    return accept


def serve_reloading(
    config: uvicorn.Config, manifest: Path, folders: Iterable[Path], target: Child
) -> int:
    """Serve `config` (an import string app) and reload it on good edits until a signal.

    `target(config, sock)` is the body of each serving process (picklable: spawned).
    """
    supervisor = _Supervisor(config, manifest, target)
    stopping = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in _SIGNALS}
    try:
        supervisor.start()
        changes = watchfiles.watch(
            *sorted(folders),
            watch_filter=is_watched(manifest),
            stop_event=stopping,
            debounce=200,
            rust_timeout=500,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        for changed in changes:
            if stopping.is_set():
                break
            if changed:
                names = ", ".join(sorted({Path(p).name for _, p in changed}))
                log.info("changed: %s; checking the manifest", names)
                supervisor.reload()
            supervisor.notice_exit()
    finally:
        supervisor.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return 0


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Supervisor:
    """The listening socket and the one child process serving on it."""

    def __init__(self, config: uvicorn.Config, manifest: Path, target: Child) -> None:
        self.config = config
        self.manifest = manifest
        self.target = target
        self.sock: socket.socket | None = None
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        if self.sock is None:
            self.sock = self.config.bind_socket()
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=self.target, args=(self.config, self.sock))
        self.process.start()

    def stop(self) -> None:
        """Stop the child (SIGTERM: its connections close with 1001) and close the socket."""
        if self.process is not None:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join()
            self.process = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def reload(self) -> None:
        """Check the manifest in a fresh process; replace the server only if it passes."""
        checked = subprocess.run(
            [sys.executable, "-m", "pachinko.cli", "check", "-m", str(self.manifest)],
            capture_output=True,
            text=True,
            check=False,
        )
        if checked.returncode != 0:
            sys.stderr.write(checked.stdout)
            sys.stderr.flush()
            serving = self.process is not None and self.process.is_alive()
            state = "still serving the last good version" if serving else "not serving"
            log.error("the manifest has errors; %s until they are fixed", state)
            return
        log.info("reloading %s", self.manifest)
        if self.process is not None:
            self.process.terminate()
            self.process.join()
        self.start()

    def notice_exit(self) -> None:
        """If the child stopped on its own, refuse connections until the next good edit."""
        if self.process is None or self.process.is_alive():
            return
        code = self.process.exitcode
        self.process.join()
        self.process = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        log.error(
            "the server stopped (exit code %s); refusing connections until the next good edit",
            code,
        )
