"""`python -m bench.serve NAME[@LAYER]`: serve contender NAME on 127.0.0.1.

The protocol layer, the same for every contender (no access log, one process):

- (none): uvicorn with `ws="wsproto"`, what issue 5 measured;
- `@sansio`: uvicorn with `ws="websockets-sansio"`;
- `@serve`: what `pachinko serve` runs: uvicorn's server loop with pachinko's own
  protocol class (`pachinko.serve`) and the app's limits; `@serve+deflate` with
  `[app] compression = "deflate"` too;
- `@granian`: granian's ASGI interface on the asyncio loop, one worker (a child
  process: the runner counts the CPU of the whole process tree).

Raises the soft file limit to the hard one. Prints `PORT <n>` once the server
accepts connections.
"""

from __future__ import annotations

import resource
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

LAYERS = ("", "sansio", "serve", "granian")


def config(app: object, ws: str = "wsproto") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ws=ws,
        lifespan="on",
        access_log=False,
        log_level="warning",
        log_config=None,
        backlog=4096,
    )


def serve_config(app: object, compression: str = "off") -> uvicorn.Config:
    """What `pachinko serve` runs: pachinko's protocol, the app's limits."""
    lifespan = lifespan_of(app) if isinstance(app, falcon.asgi.App) else None
    limits = lifespan.router.limits if lifespan is not None else Limits(rate_count=0)
    return make_config(
        app,
        limits,
        compression=compression,
        access_log=False,
        log_level="warning",
        log_config=None,
        backlog=4096,
    )


def announce_when_listening(port: int) -> None:
    """Print `PORT` once a TCP connection to `port` succeeds (granian starts in a child)."""
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
            continue
        print(f"PORT {port}", flush=True)
        return


def granian(name: str) -> None:
    from granian import Granian

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    threading.Thread(target=announce_when_listening, args=(port,), daemon=True).start()
    module = name.replace("-", "_")
    Granian(
        f"bench.contenders.{module}_app:make",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface="asgi",  # type: ignore[arg-type]
        loop="asyncio",  # type: ignore[arg-type]
        workers=1,
        backlog=4096,
        log_level="warning",  # type: ignore[arg-type]
    ).serve()


def main(argv: list[str]) -> int:
    name, _, layer = argv[0].partition("@")
    layer, _, extension = layer.partition("+")  # NOTE: "pachinko@serve+deflate"
    if layer not in LAYERS:
        raise SystemExit(f"unknown protocol layer {layer!r}; have {LAYERS}")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if layer != "serve":  # NOTE: `pachinko serve` raises (and logs) its own
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if layer == "granian":
        granian(name)
        return 0
    app = factory(name)()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if layer == "serve":
        server = Server(serve_config(app, "deflate" if extension == "deflate" else "off"))
    else:
        server = uvicorn.Server(config(app, "websockets-sansio" if layer else "wsproto"))

    def announce() -> None:
        while not server.started:
            time.sleep(0.01)
        print(f"PORT {port}", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
