"""Keep-alive connections to the services: a pool of idle sockets per upstream instance.

Used by the gateway to forward every request, and by `internal.get_json` for the calls
services make to each other (dispatch locates every report this way).

Why not urllib3: its pool (a queue and a lock per call, Timeout and Retry objects, its own
response wrapper over http.client's) cost the gateway about 0.1 ms more CPU per forwarded
request than bare http.client (bench/README.md, Gateway). And http.client's HTTPConnection
sends the headers and the body in two system calls and validates every header again: here
the request is written in one `sendall` (headers are already valid, they came through
gunicorn's parser or are the caller's own); the answer is read by wire.Response, which
replaced http.client's HTTPResponse for its cost (wire.py says why).

A request takes an idle socket (or opens one) for its exchange and puts it back once the answer
is read whole, so a socket serves one request at a time and the pool grows to the number of
requests in flight to that instance at once. The pool is a deque per instance: its append and
pop need no lock, whether the requests run on threads (gthread, the services) or greenlets
(gevent, the gateway). LIFO: the socket used last is the one least likely to have been closed
by the service meanwhile; past MAX_IDLE a socket put back is closed instead.

Stale connections: a service closes a keep-alive connection that was idle too long (gunicorn
keepalive). Before reusing one we poll it: readable means the other end closed it (or sent
something unasked), so a fresh one is opened instead. The race left (closed just as we send)
is retried once on a fresh connection, only where that cannot repeat an action: the request
broke off while being sent (a service does not act on a request it did not receive whole), or,
for idempotent methods only, the reused connection gave no byte of an answer. A POST that was
sent whole is never sent again, whatever happens to its answer; a streamed body (a file
upload) cannot be replayed and is never retried either.
"""
from __future__ import annotations

import collections
import re
import select
import socket
import ssl
from urllib.parse import quote, urlsplit

from . import wire

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
CHUNK_BYTES = 64 * 1024
MAX_IDLE = 64  # idle sockets kept per instance: more than a process has requests in flight at once
# Flask hands over the path percent-decoded: a space, a control character or a non-ASCII
# character has to be encoded again before it goes on the request line (urllib3 did it too).
_NOT_ON_A_REQUEST_LINE = re.compile(r"[^A-Za-z0-9._~!$&'()*+,;=:@/?%-]")
_KEPT_AS_IS = "/?=&%:@!$'()*+,;~"
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})


class Unavailable(Exception):
    """No connection to the instance, or it broke before answering: try another, count a failure.

    Timeouts are not this: they raise TimeoutError (the instance is there, only slow).
    """


class BodyBroken(Exception):
    """Reading the body to send failed: the caller's own upload broke off (it went away, or sent
    less than it said). Nothing to blame the instance for; the request was not sent whole."""


class _SendFailed(Exception):
    """The request broke off while being sent: the service cannot have acted on it."""


class _NoAnswer(Exception):
    """The request went out whole but not a byte of an answer came: it may have been acted on."""


class Answer:
    """An upstream's status and headers; the body read whole (`read`) or in chunks (`stream`).

    The connection goes back to the pool only when the body has been read to the end and
    the service keeps it open; `close` (or a read that fails) discards it, as its state is
    then unknown.
    """

    __slots__ = ("status", "headers", "_response", "_sock", "_put_back")

    def __init__(self, response: wire.Response, sock, put_back):
        self.status = response.status
        self.headers = response.headers  # [(name, value)] as sent
        self._response = response
        self._sock = sock
        self._put_back = put_back

    def read(self) -> bytes:
        try:
            data = self._response.read()
        except BaseException:
            self.close()
            raise
        self._finished()
        return data

    def stream(self, size: int = CHUNK_BYTES):
        try:
            while chunk := self._response.read(size):
                yield chunk
        except BaseException:  # GeneratorExit too: the caller went away mid-way
            self.close()
            raise
        self._finished()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _finished(self) -> None:
        if self._sock is not None:
            if not self._response.reusable:
                self.close()
            else:
                self._put_back(self._sock)
                self._sock = None


class _Stream:
    """A body streamed from a file-like object: with its declared length, or chunked when none is declared."""

    __slots__ = ("body", "length")

    def __init__(self, body, declared: str | None):
        self.body = body
        self.length = int(declared) if declared is not None else None

    @property
    def chunked(self) -> bool:
        return self.length is None  # a caller's chunked upload goes on chunked, never held whole

    def send(self, sock) -> None:
        sent = 0
        while chunk := self._read():
            sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk) if self.chunked else chunk)
            sent += len(chunk)
        if self.chunked:
            sock.sendall(b"0\r\n\r\n")
        elif sent != self.length:  # sent on as it was, the service would wait for the rest
            raise BodyBroken(f"the body ended after {sent} of its {self.length} bytes")

    def _read(self) -> bytes:
        try:
            return self.body.read(CHUNK_BYTES)
        except OSError as exc:  # not the instance's socket: its errors must not count against it
            raise BodyBroken(f"{type(exc).__name__}: {exc}") from exc


def _dropped(sock) -> bool:
    """Whether an idle keep-alive socket was closed by the other end (it is readable: EOF or junk)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class Connections:
    def __init__(self, connect_timeout_s: float = 2.0, max_idle: int = MAX_IDLE):
        self.connect_timeout_s = connect_timeout_s
        self.max_idle = max_idle
        self._idle: dict[str, collections.deque] = {}  # base -> idle sockets, the last put back on the right
        self._targets: dict[str, tuple[str, int, str, ssl.SSLContext | None]] = {}

    def close(self) -> None:
        """Close every idle socket (one in use comes back to the pool when its answer is read)."""
        for idle in list(self._idle.values()):
            while idle:
                try:
                    idle.pop().close()
                except IndexError:  # taken meanwhile
                    break

    def _take(self, base: str):
        """An idle socket to `base` the service has not closed meanwhile, or None."""
        idle = self._idle.get(base)
        while idle:
            try:
                sock = idle.pop()
            except IndexError:  # another request took the last one between the test and the pop
                return None
            if not _dropped(sock):
                return sock
            sock.close()
        return None

    def _target(self, base: str):
        """(host, port, the Host header, a TLS context or None) of "http[s]://host[:port]"."""
        target = self._targets.get(base)
        if target is None:
            parts = urlsplit(base)
            tls = ssl.create_default_context() if parts.scheme == "https" else None
            port = parts.port or (443 if tls else 80)
            target = self._targets[base] = (parts.hostname, port, parts.netloc, tls)
        return target

    def _connect(self, base: str):
        host, port, _, tls = self._target(base)
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return tls.wrap_socket(sock, server_hostname=host) if tls else sock
        except OSError as exc:  # refused, unreachable, connect timeout, TLS: nobody to ask
            raise Unavailable(f"{type(exc).__name__}: {exc}") from None

    def request(self, base: str, method: str, target: str, body, headers: dict, timeout_s: float) -> Answer:
        """Send one request to the instance at `base` ("http://host:port"); its answer, unread.

        `body`: None, bytes, or a file-like object (streamed: with the Content-Length `headers`
        carry, or chunked when they carry none). Raises Unavailable when the instance cannot be
        reached or gave no answer (a connect timeout included), TimeoutError when it took longer
        than `timeout_s` to take the request or to answer, BodyBroken when a streamed body failed
        or ended short on the caller's side.
        """
        if _NOT_ON_A_REQUEST_LINE.search(target):
            target = quote(target, safe=_KEPT_AS_IS)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._target(base)[2]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        whole = body is None or isinstance(body, bytes)
        stream = None if whole else _Stream(body, headers.get("Content-Length"))
        if whole and "Content-Length" not in headers and (body or method in _BODY_EXPECTED):
            lines.append(f"Content-Length: {len(body or b'')}")
        elif stream is not None and stream.chunked:
            lines.append("Transfer-Encoding: chunked")
        lines += ("", "")
        head = "\r\n".join(lines).encode("latin-1")
        message = head + body if body and whole else head

        sock = self._take(base)
        reused = sock is not None

        def put_back(done):
            idle = self._idle.get(base)
            if idle is None:
                idle = self._idle.setdefault(base, collections.deque())
            if len(idle) < self.max_idle:
                idle.append(done)
            else:
                done.close()
        try:
            return self._exchange(sock or self._connect(base), method, message, stream, timeout_s, put_back)
        except (_SendFailed, _NoAnswer) as exc:
            if reused and whole and (isinstance(exc, _SendFailed) or method in IDEMPOTENT):
                try:
                    return self._exchange(self._connect(base), method, message, stream, timeout_s, put_back)
                except (_SendFailed, _NoAnswer) as again:
                    raise Unavailable(str(again)) from None
            raise Unavailable(str(exc)) from None

    @staticmethod
    def _exchange(sock, method, message, stream, timeout_s, put_back) -> Answer:
        try:
            sock.settimeout(timeout_s)
            try:
                sock.sendall(message)
                if stream is not None:
                    stream.send(sock)
            except TimeoutError:
                raise
            except OSError as exc:
                raise _SendFailed(f"{type(exc).__name__}: {exc}") from exc
            try:
                response = wire.Response(sock, method)  # the status line and headers
            except TimeoutError:
                raise
            except (OSError, wire.BrokenAnswer) as exc:  # closed without an answer, reset, garbage
                raise _NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:  # these, timeouts, a caller's upload that broke off: the state is unknown
            sock.close()
            raise
        return Answer(response, sock, put_back)
