"""`LiveServer`: the real `pachinko serve` server on a free loopback port, in a thread."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from pachinko.runtime.app import lifespan_of
from pachinko.runtime.options import Limits
from pachinko.server import Server, make_config

_LOGGERS = ("uvicorn", "pachinko")


class LiveServer:
    """Serve `app` on 127.0.0.1 with a port the OS picks; a context manager.

    `url` is `ws://127.0.0.1:PORT`; `log` holds what the server logged.
    """

    def __init__(self, app: Any, *, startup_timeout: float = 10.0, **options: Any) -> None:
        self.app = app
        self.log = io.StringIO()
        self._options = options
        self._timeout = startup_timeout
        self._thread: threading.Thread | None = None
        self.server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        lifespan = lifespan_of(self.app)
        limits = lifespan.router.limits if lifespan is not None else Limits()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = make_config(self.app, limits, log_config=None, **self._options)
        self.server = server = Server(config)
        handler = logging.StreamHandler(self.log)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._handler = handler
        # NOTE: "uvicorn.error" and "uvicorn.access" propagate to "uvicorn": one handler there.
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(handler)
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        ready = threading.Event()
        # NOTE: poll the server's own flag on a short interval: it has no callback.
        deadline = self._timeout
        while not server.started and self._thread.is_alive() and deadline > 0:
            ready.wait(0.01)
            deadline -= 0.01
        if not server.started:
            self.stop()
            raise RuntimeError(f"server did not start:\n{self.log.getvalue()}")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for name in _LOGGERS:
            with contextlib.suppress(AttributeError):
                logging.getLogger(name).removeHandler(self._handler)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
