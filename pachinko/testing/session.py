"""The session every test client shares: sending, reading and tracing frames, and its errors.

A session is a client connection from the test's side, simulated
(`SimulatedConnection`) or over a real socket (`WebSocketTestClient`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Iterable, Mapping
from types import TracebackType
from typing import Any

import msgspec

from pachinko.errors import PachinkoError
from pachinko.testing.trace import Frame, recorders

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_MISSING: Any = object()


class HandshakeRejected(PachinkoError):
    """The server refused the WebSocket handshake with an HTTP status (403 for a refusal)."""

    def __init__(self, target: str, status: int, body: bytes = b"") -> None:
        self.target = target
        self.status = status
        self.body = body
        super().__init__(f"handshake to {target} refused with HTTP {status}")


class WebSocketClosed(PachinkoError, ConnectionError):
    """The connection is closed: `code` and `reason` are those of the close frame."""

    def __init__(self, message: str, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(message)


class ReceiveTimeout(PachinkoError, TimeoutError):
    """No frame (or close) arrived in time; the message lists the frames seen so far."""


class _Closed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason


class BaseClient:
    """Sending and reading helpers shared by the simulated and the real client.

    Open with `async with client:` or `await client`; every frame sent or read is
    kept in `frames` (unless `trace=False`).
    """

    __test__ = False  # NOTE: pytest must not collect this as a test class.

    def __init__(
        self, target: str, *, timeout: float = 2.0, trace: bool = True, codec: str | None = None
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.trace = trace
        self.frames: list[Frame] = []
        self.subprotocol: str | None = None
        self.codec = codec
        self.close_reason = ""
        self._close_code: int | None = None
        self._count = 0
        for recorder in recorders:
            recorder.append(self)

    # -- transport, provided by subclasses -------------------------------------

    async def open(self) -> BaseClient:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close (1000) if still open and release everything; idempotent."""
        raise NotImplementedError

    async def _send(self, data: str | bytes) -> None:
        raise NotImplementedError

    async def _next(self) -> str | bytes:
        """The next frame's data; raises `_Closed` once the server has closed."""
        raise NotImplementedError

    async def _close(self, code: int, reason: str) -> tuple[str, int, str]:
        """Close; the close that ended the connection: ("sent", ...) or the server's first."""
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, BaseClient]:
        return self.open().__await__()

    async def __aenter__(self) -> Any:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def close_code(self) -> int | None:
        """The close code once closed (by either side), else None."""
        return self._close_code

    @property
    def is_closed(self) -> bool:
        return self._close_code is not None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side with `code`; a no-op once closed."""
        if self._close_code is not None:
            return
        direction, code, reason = await self._close(code, reason)
        self._record(direction, "close", reason, code)

    async def wait_closed(self, timeout: float | None = None) -> int:
        """Wait for the server to close, reading (and tracing) any frames before; the code."""
        while self._close_code is None:
            with contextlib.suppress(WebSocketClosed):
                await self.receive(timeout)
        return self._close_code

    # -- sending -------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        await self._send_traced(text)

    async def send_bytes(self, data: bytes) -> None:
        await self._send_traced(bytes(data))

    async def send_json(self, obj: object) -> None:
        """Send `obj` as one JSON text frame."""
        await self._send_traced(msgspec.json.encode(obj).decode())

    async def send_message(
        self, type: str, payload: object = _MISSING, id: str | int | None = None
    ) -> None:
        """Send a nested envelope `{"type", "payload"?, "id"?}` in the negotiated codec."""
        envelope: dict[str, object] = {"type": type}
        if payload is not _MISSING:
            envelope["payload"] = payload
        if id is not None:
            envelope["id"] = id
        await self.send_media(envelope)

    @property
    def media_codec(self) -> str:
        """The codec `send_media` writes: `codec` if given, else the negotiated one's name.

        A codec's own subprotocol names it (`pachinko.msgpack`); an application
        subprotocol with a codec of its own needs `codec="msgpack"` on the client.
        """
        if self.codec is not None:
            return self.codec
        return "msgpack" if self.subprotocol == "pachinko.msgpack" else "json"

    async def send_media(self, obj: object) -> None:
        """Send `obj` in the negotiated codec (`media_codec`): msgpack (binary) or JSON (text)."""
        if self.media_codec == "msgpack":
            await self._send_traced(msgspec.msgpack.encode(obj))
        else:
            await self.send_json(obj)

    async def _send_traced(self, data: str | bytes) -> None:
        if self._close_code is not None:
            raise self._closed_error()
        self._record("sent", "text" if isinstance(data, str) else "binary", data)
        await self._send(data)

    # -- receiving -----------------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> Frame:
        """The next frame; raises `WebSocketClosed` on close, `ReceiveTimeout` after `timeout`."""
        if self._close_code is not None:
            raise self._closed_error()
        limit = self.timeout if timeout is None else timeout
        try:
            data = await asyncio.wait_for(self._next(), limit)
        except asyncio.TimeoutError:
            raise ReceiveTimeout(
                f"no frame from {self.target} within {limit:g}s\n{self.format_trace()}"
            ) from None
        except _Closed as closed:
            self._record("received", "close", closed.reason, closed.code)
            raise self._closed_error() from None
        return self._record("received", "text" if isinstance(data, str) else "binary", data)

    async def receive_text(self, timeout: float | None = None) -> str:
        frame = await self.receive(timeout)
        if frame.kind != "text":
            raise AssertionError(f"expected a text frame, got {frame}\n{self.format_trace()}")
        return frame.data  # type: ignore[return-value]

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        frame = await self.receive(timeout)
        if frame.kind != "binary":
            raise AssertionError(f"expected a binary frame, got {frame}\n{self.format_trace()}")
        return frame.data  # type: ignore[return-value]

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next frame, which must be JSON text, decoded."""
        frame = await self.receive(timeout)
        try:
            return frame.json()
        except ValueError as exc:
            raise AssertionError(f"{exc}\n{self.format_trace()}") from None

    async def receive_media(self, timeout: float | None = None) -> Any:
        """The next frame decoded as its kind says: msgpack for binary, JSON for text."""
        frame = await self.receive(timeout)
        if frame.kind == "text":
            try:
                return frame.json()
            except ValueError as exc:
                raise AssertionError(f"{exc}\n{self.format_trace()}") from None
        try:
            return msgspec.msgpack.decode(frame.data)
        except msgspec.DecodeError:
            message = f"frame #{frame.index} is not msgpack: {frame.data!r}"
            raise AssertionError(f"{message}\n{self.format_trace()}") from None

    async def receive_message(self, type: str, timeout: float | None = None) -> Any:
        """The next message of type `type` (decoded), skipping others; within `timeout` in all.

        Raises `ReceiveTimeout` (the skipped frames are in its trace) when none comes in time.
        """
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while (left := deadline - loop.time()) > 0:
            try:
                message = await self.receive_media(left)
            except ReceiveTimeout:
                break
            if isinstance(message, dict) and message.get("type") == type:
                return message
        raise ReceiveTimeout(
            f"no {type!r} message from {self.target} within {limit:g}s\n{self.format_trace()}"
        )

    async def expect_no_frame(self, within: float = 0.1) -> None:
        """Assert that no frame arrives within `within` seconds (a close counts as one)."""
        try:
            frame = await self.receive(within)
        except ReceiveTimeout:
            return
        except WebSocketClosed as closed:
            raise AssertionError(f"expected silence, but the connection closed: {closed}") from None
        raise AssertionError(f"expected no frame, got {frame}\n{self.format_trace()}")

    # -- trace ---------------------------------------------------------------------------

    def format_trace(self) -> str:
        """The frames sent and read so far, one a line."""
        state = "open" if self._close_code is None else f"closed {self._close_code}"
        head = f"frames of {self.target} ({state}):"
        if not self.trace:
            return f"{head} (trace off)"
        return "\n".join([head, *(f"  {frame}" for frame in self.frames)])

    def _record(
        self, direction: str, kind: str, data: str | bytes, code: int | None = None
    ) -> Frame:
        frame = Frame(self._count, direction, kind, data, code)
        self._count += 1
        if self.trace:
            self.frames.append(frame)
        if kind == "close" and self._close_code is None:
            self._close_code = code
            self.close_reason = data if isinstance(data, str) else ""
        return frame

    def _closed_error(self) -> WebSocketClosed:
        code = self._close_code or 1006
        return WebSocketClosed(
            f"{self.target} is closed with {code} {self.close_reason!r}\n{self.format_trace()}",
            code,
            self.close_reason,
        )
