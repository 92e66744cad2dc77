"""Reading a service's HTTP/1.1 answer off a socket: status line, headers, and the body's framing.

Why not http.client.HTTPResponse: it parses the headers with the email package (FeedParser,
a Message object per answer) through a buffered file made per answer; that was about a tenth
of the gateway's CPU per forwarded request (py-spy, POST c=16, bench/README.md Gateway). The
services are gunicorn, so an answer is HTTP/1.x with lines ending CRLF and a body framed as
RFC 9112 section 6.3 says: none (HEAD, 1xx, 204, 304), chunked, Content-Length, or up to the
close of the connection. That is all this reads; anything else is a BrokenAnswer.
"""
from __future__ import annotations

import http.client

RECV_BYTES = 64 * 1024
MAX_HEAD_BYTES = 64 * 1024  # status line and headers together; gunicorn's own limit is 8190 a line
_NO_BODY_STATUS = frozenset({204, 304})


class BrokenAnswer(http.client.HTTPException):
    """The answer is not HTTP/1.x as framed above, or stopped before its end.

    An HTTPException, as http.client's own errors were, so callers treat both alike.
    """


class NoAnswer(BrokenAnswer):
    """The connection closed before a single byte of an answer (http.client: RemoteDisconnected)."""


class Response:
    """One answer read off `sock`: `status`, `headers` ([(name, value)] as sent), `will_close`,
    and the body by `read()` (all of it) or `read(n)` (up to n bytes; b"" at the end)."""

    __slots__ = ("status", "headers", "will_close", "_sock", "_buf", "_left", "_chunked", "_to_close")

    def __init__(self, sock, method: str):
        self._sock = sock
        self._buf = bytearray()
        while True:  # informational answers (100 Continue) come before the real one: skip them
            version, self.status, self.headers = self._read_head()
            if not 100 <= self.status < 200:
                break
            if self.status == 101:
                raise BrokenAnswer("101 Switching Protocols: connections are not upgraded here")
        self._chunked = False
        self._to_close = False  # the body runs to the close of the connection
        self._left = 0  # bytes of the body (or of the current chunk) still to read
        length = transfer = connection = None
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == "content-length":
                length = value
            elif lowered == "transfer-encoding":
                transfer = value.lower()
            elif lowered == "connection":
                connection = value.lower()
        if method == "HEAD" or self.status in _NO_BODY_STATUS:
            pass
        elif transfer is not None:
            if not transfer.rstrip().endswith("chunked"):
                raise BrokenAnswer(f"unsupported Transfer-Encoding {transfer!r}")
            self._chunked = True
            self._left = -1  # the first chunk's size line is still to read
        elif length is not None:
            if not length.strip().isdigit():
                raise BrokenAnswer(f"bad Content-Length {length!r}")
            self._left = int(length)
        else:
            self._to_close = True
        tokens = {t.strip() for t in connection.split(",")} if connection else set()
        self.will_close = (self._to_close or "close" in tokens
                           or (version == "HTTP/1.0" and "keep-alive" not in tokens))

    # -- the head ------------------------------------------------------------------------
    def _fill(self) -> bool:
        """One recv into the buffer; False at the end of the connection."""
        data = self._sock.recv(RECV_BYTES)
        if not data:
            return False
        self._buf += data
        return True

    def _read_head(self) -> tuple[str, int, list[tuple[str, str]]]:
        start = 0
        while (end := self._buf.find(b"\r\n\r\n", start)) < 0:
            if len(self._buf) > MAX_HEAD_BYTES:
                break
            start = max(0, len(self._buf) - 3)
            if not self._fill():
                if self._buf:
                    raise BrokenAnswer("the connection closed in the middle of the answer's head")
                raise NoAnswer("the service closed the connection without answering")
        if end < 0 or end > MAX_HEAD_BYTES:
            raise BrokenAnswer("the answer's head is longer than 64 KiB")
        lines = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[:end + 4]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit() or rest[3:4] not in ("", " "):
            raise BrokenAnswer(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():  # also refuses obsolete line folding
                raise BrokenAnswer(f"bad header line {line[:80]!r}")
            headers.append((name, value.strip()))
        return version, int(code), headers

    # -- the body ------------------------------------------------------------------------
    @property
    def reusable(self) -> bool:
        """Read to its end, nothing unasked after it, and the service keeps the connection open."""
        return not self.will_close and not self._to_close and self._left == 0 and not self._buf

    def read(self, amt: int | None = None) -> bytes:
        if amt is None:
            parts = []
            while part := self.read(RECV_BYTES):
                parts.append(part)
            return b"".join(parts)
        if self._chunked and self._left < 0:
            self._next_chunk()
        if self._to_close:
            if not self._buf and not self._fill():
                self._to_close = False  # the close was the end
                return b""
            return self._take(min(amt, len(self._buf)))
        if self._left == 0:
            return b""
        if not self._buf and not self._fill():
            raise BrokenAnswer("the connection closed before the end of the answer's body")
        data = self._take(min(amt, self._left, len(self._buf)))
        self._left -= len(data)
        if self._chunked and self._left == 0:
            self._expect(b"\r\n")
            self._left = -1
        return data

    def _take(self, n: int) -> bytes:
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > MAX_HEAD_BYTES:
                raise BrokenAnswer("a chunk's size line is too long")
            if not self._fill():
                raise BrokenAnswer("the connection closed inside a chunked body")
        line = bytes(self._buf[:end])
        del self._buf[:end + 2]
        return line

    def _expect(self, data: bytes) -> None:
        while len(self._buf) < len(data):
            if not self._fill():
                raise BrokenAnswer("the connection closed inside a chunked body")
        if self._buf[:len(data)] != data:
            raise BrokenAnswer("a chunk did not end with CRLF")
        del self._buf[:len(data)]

    def _next_chunk(self) -> None:
        size = self._line().split(b";", 1)[0].strip()  # chunk extensions are ignored
        if not size or size.strip(b"0123456789abcdefABCDEF"):
            raise BrokenAnswer(f"bad chunk size {size[:20]!r}")
        self._left = int(size, 16)
        if self._left == 0:  # the last chunk: skip the trailers up to the empty line
            while self._line():
                pass
            self._chunked = False
