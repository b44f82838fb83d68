"""`python -m bench.serve NAME[@serve]`: serve contender NAME on 127.0.0.1.

The same uvicorn config for every contender: wsproto, no access log, one
process. `NAME@serve` runs it as `pachinko serve` does instead: uvicorn's server
loop with pachinko's own protocol class (`pachinko.serve`). Prints `PORT <n>`
once the server accepts connections.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import falcon.asgi
import uvicorn

from bench.contenders import factory
from pachinko.runtime.app import lifespan_of
from pachinko.runtime.options import Limits
from pachinko.server import Server, make_config


def config(app: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ws="wsproto",
        lifespan="on",
        access_log=False,
        log_level="warning",
        log_config=None,
        backlog=4096,
    )


def serve_config(app: object) -> uvicorn.Config:
    """What `pachinko serve` runs: pachinko's protocol, the app's limits."""
    lifespan = lifespan_of(app) if isinstance(app, falcon.asgi.App) else None
    limits = lifespan.router.limits if lifespan is not None else Limits(rate_count=0)
    return make_config(
        app, limits, access_log=False, log_level="warning", log_config=None, backlog=4096
    )


def main(argv: list[str]) -> int:
    name, _, variant = argv[0].partition("@")
    app = factory(name)()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = Server(serve_config(app)) if variant == "serve" else uvicorn.Server(config(app))

    def announce() -> None:
        while not server.started:
            time.sleep(0.01)
        print(f"PORT {port}", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
