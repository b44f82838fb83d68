"""Checks of the rooms the routes join: placeholders, declarations, history nobody receives."""

from __future__ import annotations

from pachinko.loader.paths import fields, placeholders, room_matches
from pachinko.manifest.diagnostics import (
    UNJOINED_HISTORY,
    UNKNOWN_PLACEHOLDER,
    UNKNOWN_ROOM,
    Collector,
    KeyPath,
)
from pachinko.manifest.model import Manifest


def check_joins(report: Collector, manifest: Manifest, key: KeyPath, full: str) -> None:
    """Check each `join` entry of the route at `key` (whose full path is `full`)."""
    params = fields(full)
    route = manifest.routes[key[1]]  # type: ignore[index]
    for j, room in enumerate(route.join):
        if manifest.is_broken((*key, "join", j)):
            continue
        absent = [name for name in placeholders(room) if name not in params]
        if absent:
            known = ", ".join(params) or "none"
            message = f"join {room!r} uses {{{absent[0]}}}, which is not a parameter of {full!r}"
            report.error((*key, "join", j), UNKNOWN_PLACEHOLDER, message, f"parameters: {known}")
        elif not manifest.is_broken(("rooms",)) and not any(
            room_matches(r.name, room) for r in manifest.rooms
        ):
            report.warning(
                (*key, "join", j),
                UNKNOWN_ROOM,
                f"join {room!r} matches no [[rooms]] name or pattern",
                f"declare it with [[rooms]] name = {room!r}",
            )


def check_unjoined_history(report: Collector, manifest: Manifest) -> None:
    """Warn about rooms that keep history although no route's `join` names them."""
    if any(k[0] == "routes" and (len(k) < 3 or k[2] == "join") for k in manifest.broken):
        return  # NOTE: a broken route or join entry may be the one that joins it.
    joins = [room for route in manifest.routes for room in route.join]
    for i, room in enumerate(manifest.rooms):
        if not room.history or manifest.is_broken(("rooms", i)):
            continue
        if not any(room_matches(room.name, j) or room_matches(j, room.name) for j in joins):
            report.warning(
                ("rooms", i, "history"),
                UNJOINED_HISTORY,
                f"room {room.name!r} keeps history but no route joins it",
                "history is replayed to members joining it; if handlers join it with "
                "conn.join(), this is fine",
            )
