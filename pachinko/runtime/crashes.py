"""`CrashLog`: a handler crash is logged with its traceback once, its repeats summarised."""

from __future__ import annotations

import logging
from collections import OrderedDict
from time import monotonic

Key = tuple[str, str, str, int]


class CrashLog:
    """Logs handler crashes without flooding: identical ones are summarised.

    Two crashes are identical when the same handler raised the same exception type
    at the same line. The first is logged with its traceback; repeats within
    `window` seconds are logged as one line without it at the 2nd, 4th, 8th...
    occurrence, so a crash on every message costs log lines in log2 of its count.
    """

    def __init__(self, logger: logging.Logger, window: float = 60.0, size: int = 256) -> None:
        self.log = logger
        self.window = window
        self.size = size
        self._seen: OrderedDict[Key, list[float]] = OrderedDict()  # key -> [since, count]

    def crashed(
        self,
        handler: str,
        message_type: str,
        connection_id: str,
        exc: BaseException,
        extra: dict[str, object] | None = None,
    ) -> None:
        """Record that `handler` raised `exc` while handling `message_type`.

        `extra` goes to the log record (the connection's fields for JSON logs).
        """
        frame = exc.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        where = (frame.tb_frame.f_code.co_filename, frame.tb_lineno) if frame else ("?", 0)
        key = (handler, type(exc).__qualname__, *where)
        now = monotonic()
        seen = self._seen.get(key)
        if seen is None or now - seen[0] > self.window:
            self._seen[key] = [now, 1]
            self._seen.move_to_end(key)
            if len(self._seen) > self.size:
                self._seen.popitem(last=False)
            self.log.error(
                "handler %s for %r failed on connection %s",
                handler,
                message_type,
                connection_id,
                exc_info=exc,
                extra=extra,
            )
            return
        seen[1] += 1
        count = int(seen[1])
        if count & (count - 1) == 0:  # a power of two
            self.log.error(
                "handler %s for %r failed on connection %s: %s: %s "
                "(the same crash %d times in %.0fs; traceback logged the first time)",
                handler,
                message_type,
                connection_id,
                type(exc).__qualname__,
                exc,
                count,
                now - seen[0],
                extra=extra,
            )
