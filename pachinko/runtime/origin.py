"""The `Origin` check of the handshake (docs/guide.md, `[security] allowed_origins`)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit


def is_origin_allowed(origin: str, host: str, allowed: tuple[str, ...]) -> bool:
    """True when `origin` may open a connection to a server reached as `host`.

    `same-origin`: the Origin's host:port equals the Host header (scheme ignored);
    `*` alone: any origin; else full origins, `*` standing for one subdomain level
    (`https://*.example.com`) or any port (`http://localhost:*`). An Origin that is not
    a URL at all (`http://[::1`) is allowed by `*` only.
    """
    try:
        return _matches(origin, host, allowed)
    except ValueError:
        return "*" in allowed


def _matches(origin: str, host: str, allowed: tuple[str, ...]) -> bool:
    for rule in allowed:
        if rule == "*":
            return True
        if rule == "same-origin":
            if _host_port(origin) == _normal_host(host, origin):
                return True
        elif _rule_regex(rule).match(origin.lower()):
            return True
    return False


def _host_port(origin: str) -> str:
    parts = urlsplit(origin.lower())
    default = "443" if parts.scheme in ("https", "wss") else "80"
    try:
        port = parts.port
    except ValueError:
        return ""
    return f"{parts.hostname}:{port or default}"


def _normal_host(host: str, origin: str) -> str:
    """`Host` as host:port, the port defaulting from the Origin's scheme."""
    host = host.lower().strip()
    if not host:
        return "\0"  # no Host header: same-origin can't hold
    scheme = urlsplit(origin.lower()).scheme
    if host.startswith("["):  # IPv6 literal
        name, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    return f"{name}:{port or ('443' if scheme in ('https', 'wss') else '80')}"


@lru_cache(maxsize=256)
def _rule_regex(rule: str) -> re.Pattern[str]:
    scheme, sep, rest = rule.lower().partition("://")
    if not sep:
        return re.compile(r"(?!)")  # matches nothing: not a full origin
    host, colon, port = rest.rstrip("/").partition(":")
    host_re = re.escape(host).replace(r"\*", r"[^./:]+")
    if not colon:
        port_re = ""
    elif port == "*":
        port_re = r"(?::\d+)?"
    else:
        port_re = ":" + re.escape(port)
    return re.compile(f"^{re.escape(scheme)}://{host_re}{port_re}$")
