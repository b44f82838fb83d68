"""`python -m bench.serve NAME`: serve contender NAME under uvicorn on 127.0.0.1.

The same uvicorn config for every contender: wsproto, no access log, one
process. Prints `PORT <n>` once the server accepts connections.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import uvicorn

from bench.contenders import factory


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


def main(argv: list[str]) -> int:
    app = factory(argv[0])()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(config(app))

    def announce() -> None:
        while not server.started:
            time.sleep(0.01)
        print(f"PORT {port}", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
