"""The order wire's HTTP/1.1 response reader: framing whatever the packet boundaries."""

from __future__ import annotations

import gzip
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.venue.http1 import ProtocolError, Response

BODY = b'{"symbol":"BTCUSDT","orderId":7,"status":"FILLED"}'
SIZED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 3\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
CHUNKED = (
    b"HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n"
    b"Retry-After: 8\r\n\r\n"
    b"5;ext=1\r\n" + BODY[:5] + b"\r\n" + hex(len(BODY) - 5)[2:].encode() + b"\r\n" + BODY[5:]
    + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
)  # fmt: skip


def read(raw: bytes, cuts: list[int]) -> Response:
    r = Response()
    bounds = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    done = False
    for a, b in itertools.pairwise(bounds):
        assert not done, "complete before its last byte"
        done = r.feed(raw[a:b])
    assert done
    return r


@given(st.lists(st.integers(min_value=0), max_size=8))
def test_a_sized_response_reads_the_same_whatever_the_packets(cuts: list[int]) -> None:
    r = read(SIZED, cuts)
    assert (r.status, r.reason, r.body, r.keep_alive) == (200, "OK", BODY, True)
    assert r.header("x-mbx-used-weight-1m") == "3"


@given(st.lists(st.integers(min_value=0), max_size=8))
def test_a_chunked_response_reads_the_same_whatever_the_packets(cuts: list[int]) -> None:
    r = read(CHUNKED, cuts)
    assert (r.status, r.body) == (429, BODY)
    assert r.header("Retry-After") == "7, 8"  # repeated headers joined, as ccxt joins them


def test_connection_close_http10_and_read_until_close() -> None:
    r = Response()
    assert not r.feed(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc")
    assert not r.feed(b"def")
    assert r.eof() and r.body == b"abcdef" and not r.keep_alive
    r = Response()
    assert r.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not r.keep_alive
    r = Response()
    assert r.feed(b"HTTP/1.1 204 No Content\r\n\r\n") and r.body == b""
    assert not Response().eof()  # nothing read: not a response


def test_a_compressed_body_is_decoded() -> None:
    packed = gzip.compress(BODY)
    r = Response()
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(packed)}\r\n\r\n"
    assert r.feed(head.encode() + packed) and r.body == BODY


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"HTTX/1.1 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", "after the response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", "CRLF"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra", "after"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", "br"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx", "gzip"),
    ],
)
def test_what_it_cannot_frame_is_refused_at_once(raw: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        Response().feed(raw)


def test_an_endless_head_is_refused() -> None:
    with pytest.raises(ProtocolError, match="head longer"):
        Response().feed(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20_000)
