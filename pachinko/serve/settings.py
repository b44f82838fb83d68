"""What the protocol layer enforces, and the connections of one server process."""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import dataclass
from time import monotonic
from typing import Protocol

from pachinko.runtime.options import Limits

log = logging.getLogger("pachinko")


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """The manifest settings the protocol enforces itself (DESIGN.md section 2); seconds."""

    max_message_bytes: int = 1_048_576
    handshake_timeout: float = 10.0
    max_header_bytes: int = 65_536
    max_connections: int = 0  # 0: as many as file descriptors allow
    send_timeout: float = 5.0
    ping_interval: float = 20.0  # 0: no pings
    shutdown_timeout: float = 5.0
    compression: str = "off"  # or "deflate"
    # NOTE: small buffers so a peer that does not read makes `send` wait, and the
    # runtime's send_queue/send_timeout see it, instead of the kernel absorbing megabytes.
    write_high_water: int = 65_536
    socket_send_buffer: int = 65_536

    @classmethod
    def from_limits(cls, limits: Limits, compression: str = "off") -> ServeSettings:
        """The settings of a runtime `Limits` record and the `[app] compression` value."""
        return cls(
            max_message_bytes=limits.max_message_bytes,
            handshake_timeout=limits.handshake_timeout,
            max_header_bytes=limits.max_header_bytes,
            max_connections=limits.max_connections,
            send_timeout=limits.send_timeout,
            ping_interval=limits.ping_interval,
            shutdown_timeout=limits.shutdown_timeout,
            compression=compression,
        )


class Delivering(Protocol):
    """An open connection, as the registry sees it."""

    def stop_delivering(self) -> None: ...


class Registry:
    """The open connections of one server process, and its refusals (logged, throttled)."""

    def __init__(self) -> None:
        self.open: set[Delivering] = set()
        # NOTE: refuse with 503 a little before the descriptor limit, so accept() never
        # fails (uvloop closes its listening socket when it does).
        self.fd_cap = connection_cap()
        self.is_draining = False
        self._logged: dict[str, float] = {}

    def refusal(self, settings: ServeSettings, count: int) -> str | None:
        """Why a new connection, the `count`-th open one, is refused (503), if it is.

        While draining, upgrades are refused once their request is read (`Gate`), so
        plain HTTP requests such as health probes are still answered.
        """
        if 0 < settings.max_connections < count:
            return f"max_connections={settings.max_connections} reached"
        if 0 < self.fd_cap < count:
            return f"near the file descriptor limit ({self.fd_cap} connections)"
        return None

    def warn(self, kind: str, message: str, *args: object) -> None:
        """Log one line per `kind` per second: a flood of refusals must not flood the log."""
        now = monotonic()
        if now - self._logged.get(kind, 0.0) >= 1.0:
            self._logged[kind] = now
            log.warning(message, *args)

    def drain(self) -> None:
        """Stop delivering new frames to the app on every connection (shutdown)."""
        self.is_draining = True
        for protocol in list(self.open):
            protocol.stop_delivering()


def raise_file_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return (old soft, new soft)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return soft, hard
    return soft, soft


def connection_cap(spare: int = 32) -> int:
    """How many connections fit under the soft descriptor limit, with `spare` left over
    for what the app opens besides; the descriptors open now count as used."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 0  # NOTE: no limit to stay under
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = 64
    return max(1, soft - used - spare)
