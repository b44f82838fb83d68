"""The demo chat: rooms, nicks, presence and history, served by `pachinko serve`."""

from __future__ import annotations
