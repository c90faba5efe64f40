"""A minimal HTTP/1.1 response reader for ``venue.wire``: one response on a kept-alive
connection, framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the connection's
end.

Invariant: ``feed`` never consumes bytes past the response it reads (a server does not send a
second response before the next request, so anything left over is a protocol error and the
connection is not reused); a malformed head or chunk raises ``ProtocolError`` at once instead
of waiting for more bytes.
"""

from __future__ import annotations

import zlib

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The bytes are not an HTTP/1.1 response this reader can frame."""


class Response:
    """Accumulates one response; ``feed`` returns True once it is complete."""

    def __init__(self, head_only: bool = False) -> None:
        self.status = 0
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.keep_alive = True
        self._head_only = head_only  # a HEAD request: no body whatever the headers say
        self._buf = bytearray()
        self._head_done = False
        self._length: int | None = None
        self._chunked = False
        self._until_close = False
        self._encoding = ""

    def header(self, name: str) -> str | None:
        low = name.lower()
        values = [v for k, v in self.headers if k.lower() == low]
        return ", ".join(values) if values else None

    def feed(self, data: bytes) -> bool:
        self._buf += data
        if not self._head_done:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    raise ProtocolError(f"response head longer than {MAX_HEAD} bytes")
                return False
            self._parse_head(bytes(self._buf[:end]))
            del self._buf[: end + 4]
            self._head_done = True
        return self._try_body()

    def eof(self) -> bool:
        """The connection ended: True when that completes the response (read-until-close)."""
        if self._head_done and self._until_close:
            self.body = self._decoded(bytes(self._buf))
            self._buf.clear()
            return True
        return False

    def _parse_head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        self.status, self.reason = int(parts[1]), parts[2] if len(parts) == 3 else ""
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"malformed header line {line[:80]!r}")
            self.headers.append((name, value.strip()))
        connection = (self.header("Connection") or "").lower()
        self.keep_alive = parts[0] == "HTTP/1.1" and "close" not in connection
        self._encoding = (self.header("Content-Encoding") or "").lower()
        if self._head_only or self.status in (204, 304) or 100 <= self.status < 200:
            self._length = 0
        elif "chunked" in (self.header("Transfer-Encoding") or "").lower():
            self._chunked = True
        elif (length := self.header("Content-Length")) is not None:
            if not length.isdigit() or int(length) > MAX_BODY:
                raise ProtocolError(f"bad Content-Length {length[:40]!r}")
            self._length = int(length)
        else:
            self._until_close, self.keep_alive = True, False

    def _try_body(self) -> bool:
        if self._length is not None:
            if len(self._buf) < self._length:
                return False
            if len(self._buf) > self._length:
                raise ProtocolError("bytes after the response body")
            self.body = self._decoded(bytes(self._buf))
            self._buf.clear()
            return True
        if self._chunked:
            body = self._dechunk()
            if body is None:
                return False
            self.body = self._decoded(body)
            return True
        if len(self._buf) > MAX_BODY:
            raise ProtocolError(f"response body longer than {MAX_BODY} bytes")
        return False  # until the connection ends

    def _dechunk(self) -> bytes | None:
        """The whole chunked body once every chunk and the trailer are in (else None)."""
        buf, pos, out = self._buf, 0, bytearray()
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
            pos = eol + 2
            if size == 0:
                end = buf.find(b"\r\n\r\n", pos - 2)  # the trailer section ends the body
                if end < 0:
                    return None
                if end + 4 != len(buf):
                    raise ProtocolError("bytes after the chunked body")
                buf.clear()
                return bytes(out)
            if len(buf) < pos + size + 2:
                return None
            if buf[pos + size : pos + size + 2] != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")
            out += buf[pos : pos + size]
            if len(out) > MAX_BODY:
                raise ProtocolError(f"response body longer than {MAX_BODY} bytes")
            pos += size + 2

    def _decoded(self, body: bytes) -> bytes:
        if self._encoding in ("", "identity"):
            return body
        try:
            if self._encoding in ("gzip", "x-gzip"):
                return zlib.decompress(body, 16 + zlib.MAX_WBITS)
            if self._encoding == "deflate":
                return zlib.decompress(body)
        except zlib.error as exc:
            raise ProtocolError(f"undecodable {self._encoding} body: {exc}") from None
        raise ProtocolError(f"unsupported Content-Encoding {self._encoding!r}")


__all__ = ["MAX_BODY", "MAX_HEAD", "ProtocolError", "Response"]
