"""`InflationGuard`: a compressed message is measured while it arrives, never inflated whole."""

from __future__ import annotations

import zlib

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import apply_mask
from websockets.protocol import Protocol

_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: what the sender stripped from each message
_STEP = 65_536  # inflated bytes produced (and dropped) per zlib call


class InflationGuard:
    """Tracks frame boundaries in the raw byte stream and inflates compressed payloads as
    they arrive, in bounded steps whose output is dropped, to know when a message passes
    `limit` before the sans-I/O core has buffered the frame that carries it.

    NOTE: this costs a second inflate of compressed traffic (compression is off unless
    the manifest asks); its own decompressor mirrors the core's, context takeover included.
    """

    def __init__(self, extension: PerMessageDeflate, limit: int) -> None:
        self.limit = limit
        self.wbits = extension.remote_max_window_bits
        self.is_reset_per_message = extension.remote_no_context_takeover
        self.inflater = zlib.decompressobj(wbits=-self.wbits)
        self.head = bytearray()
        self.remaining = 0  # payload bytes left in the current frame
        self.mask = b"\0\0\0\0"
        self.offset = 0
        self.fin = True
        self.is_compressed = False  # the current frame's payload
        self.is_compressed_message = False  # the message the data frames belong to
        self.total = 0  # inflated bytes of the current message so far
        self.is_off = False  # lost track (a protocol error the core reports): stop guarding

    def feed(self, data: bytes) -> bool:
        """Account for received bytes; False once the current message inflates past `limit`."""
        pos, end = 0, len(data)
        while pos < end and not self.is_off:
            if not self.remaining:
                take = self._need() - len(self.head)
                self.head += data[pos : pos + take]
                pos += take
                if len(self.head) == self._need() and not self._start_frame():
                    return False
                continue
            take = min(self.remaining, end - pos)
            if self.is_compressed:
                shift = self.offset % 4
                mask = self.mask[shift:] + self.mask[:shift]
                if not self._inflate(apply_mask(data[pos : pos + take], mask)):
                    return False
            pos += take
            self.remaining -= take
            self.offset += take
            if not self.remaining and not self._end_frame():
                return False
        return True

    def _need(self) -> int:
        """How many header bytes the frame being read has (known once two are in)."""
        if len(self.head) < 2:
            return 2
        size = self.head[1] & 0x7F
        return 2 + (2 if size == 126 else 8 if size == 127 else 0) + 4

    def _start_frame(self) -> bool:
        head, self.head = bytes(self.head), bytearray()
        first, size = head[0], head[1] & 0x7F
        if not head[1] & 0x80:
            self.is_off = True  # unmasked: the core fails the connection
            return True
        if size == 126:
            size = int.from_bytes(head[2:4], "big")
        elif size == 127:
            size = int.from_bytes(head[2:10], "big")
        self.mask, self.offset, self.remaining = head[-4:], 0, size
        self.fin = bool(first & 0x80)
        opcode = first & 0x0F
        if opcode in (1, 2):
            self.is_compressed_message = bool(first & 0x40)
            self.total = 0
            if self.is_compressed_message and self.is_reset_per_message:
                self.inflater = zlib.decompressobj(wbits=-self.wbits)
        self.is_compressed = opcode < 3 and self.is_compressed_message
        return self.remaining or self._end_frame()

    def _end_frame(self) -> bool:
        if self.is_compressed and self.fin:
            self.is_compressed_message = False
            return self._inflate(_TAIL)
        return True

    def _inflate(self, chunk: bytes) -> bool:
        try:
            while self.total <= self.limit:
                out = len(self.inflater.decompress(chunk, _STEP))
                self.total += out
                chunk = self.inflater.unconsumed_tail
                if not chunk and out < _STEP:
                    break
        except zlib.error:
            self.is_off = True  # the core reports the broken stream (1002)
            return True
        return self.total <= self.limit


def guard_for(ws: Protocol, limit: int) -> InflationGuard | None:
    """A guard when the connection negotiated permessage-deflate, else None."""
    for extension in ws.extensions:
        if isinstance(extension, PerMessageDeflate):
            return InflationGuard(extension, limit)
    return None
