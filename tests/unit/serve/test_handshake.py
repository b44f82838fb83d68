"""The request head: strict parsing and the upgrade checks, before any app code."""

from __future__ import annotations

import pytest

from pachinko.serve.handshake import BadRequest, check_upgrade, parse_head, refusal

GOOD = (
    b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade"
    b"\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
)


def test_a_good_upgrade_passes_and_keeps_its_headers_in_order() -> None:
    head = parse_head(GOOD)
    check_upgrade(head)
    assert head.is_upgrade
    assert [name for name, _ in head.headers][:2] == [b"host", b"upgrade"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ((b"HTTP/1.1\r\nHost", b"HTTP/1.0\r\nHost"), 400),
        ((b"GET ", b"POST "), 400),
        ((b"keep-alive, Upgrade", b"keep-alive"), 400),
        ((b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZQ=="), 400),
        ((b"dGhlIHNhbXBsZSBub25jZQ==", b"not base64 at all!"), 400),
        ((b"Version: 13", b"Version: 8"), 426),
    ],
)
def test_a_bad_upgrade_is_refused_with_its_status(change: tuple[bytes, bytes], status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        check_upgrade(parse_head(GOOD.replace(*change)))
    assert refused.value.status == status


@pytest.mark.parametrize(
    "block", [b"GET /\r\nHost: a", b"GET / HTTP/2\r\nHost: a", b"GET / HTTP/1.1\r\nNo colon"]
)
def test_a_malformed_head_is_a_400(block: bytes) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_head(block)
    assert refused.value.status == 400


def test_a_refusal_is_a_complete_response_that_closes() -> None:
    response = refusal(431)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
    assert b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
