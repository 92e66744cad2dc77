"""The kit's keep-alive connections (the gateway's forwarding, calls between services) against a scripted local HTTP server: reuse, stale
connections, what is retried and what never is."""
import collections
import io
import socket
import threading
import time

import pytest

from servicekit import connections
from servicekit.connections import Connections, Unavailable
from servicekit.testing import refused_port


class ScriptedServer:
    """Answers HTTP/1.1 requests; `script(n_on_connection, method)` says what to do with each:
    "answer", "answer and close" (without saying so: a keep-alive timeout) or "close" (no answer)."""

    def __init__(self, script=lambda n, method: "answer"):
        self.script = script
        self.received = []  # (connection number, method, body)
        self.connections = 0
        self.targets = []
        self.chunk_sizes = []  # the whole length of each chunked body
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock, self.connections), daemon=True).start()

    def _serve(self, sock, number):
        reader = sock.makefile("rb")
        n = 0
        with sock, reader:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, target = line.split()[0].decode(), line.split()[1].decode()
                self.targets.append(target)
                length, chunked = 0, False
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    chunked |= name.lower() == "transfer-encoding" and value.strip() == "chunked"
                if chunked:
                    body = b""
                    while size := int(reader.readline(), 16):
                        body += reader.read(size)
                        reader.readline()
                    reader.readline()
                    self.chunk_sizes.append(len(body))
                else:
                    body = reader.read(length)
                self.received.append((number, method, body))
                n += 1
                action = self.script(n, method)
                if action == "close":
                    return
                says_close = b"Connection: close\r\n" if action == "answer, saying close" else b""
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + says_close
                             + b"Content-Type: text/plain\r\n\r\nok")
                if action in ("answer and close", "answer, saying close"):
                    return

    def close(self):
        self._listener.close()


@pytest.fixture
def server_with():
    servers = []

    def make(script=lambda n, method: "answer"):
        servers.append(ScriptedServer(script))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def ask(pool, server, method="GET", body=None):
    answer = pool.request(server.base, method, "/x", body, {"Content-Type": "text/plain"}, 5.0)
    return answer.status, answer.read()


def test_requests_one_after_another_reuse_one_keep_alive_connection(server_with):
    server, pool = server_with(), Connections()
    assert ask(pool, server) == (200, b"ok")
    assert ask(pool, server, "POST", b"{}") == (200, b"ok")
    assert server.connections == 1


def test_a_connection_serves_one_request_at_a_time_and_the_pool_keeps_those_it_needed(server_with):
    server, pool = server_with(), Connections()
    # Two requests in flight at once (the first answer not read yet): two connections.
    first = pool.request(server.base, "GET", "/x", None, {}, 5.0)
    second = pool.request(server.base, "GET", "/x", None, {}, 5.0)
    assert (first.read(), second.read()) == (b"ok", b"ok")
    assert server.connections == 2
    # Both went back to the pool: two more at once open none.
    third = pool.request(server.base, "GET", "/x", None, {}, 5.0)
    fourth = pool.request(server.base, "GET", "/x", None, {}, 5.0)
    assert (third.read(), fourth.read()) == (b"ok", b"ok")
    assert server.connections == 2
    # The one put back last is taken first (the least likely to have gone stale).
    assert [c for c, _, _ in server.received] == [1, 2, 2, 1]


def test_sockets_put_back_past_the_idle_limit_are_closed(server_with):
    server, pool = server_with(), Connections(max_idle=1)
    answers = [pool.request(server.base, "GET", "/x", None, {}, 5.0) for _ in range(3)]
    assert [a.read() for a in answers] == [b"ok"] * 3
    assert len(pool._idle[server.base]) == 1
    assert ask(pool, server) == (200, b"ok") and ask(pool, server) == (200, b"ok")
    assert server.connections == 3
    pool.close()
    assert not pool._idle[server.base]


def test_a_connection_the_service_closed_while_idle_is_replaced_before_sending(server_with):
    server, pool = server_with(lambda n, method: "answer and close"), Connections()
    assert ask(pool, server, "POST", b"1") == (200, b"ok")
    time.sleep(0.2)  # idle: the service has closed its end meanwhile
    assert ask(pool, server, "POST", b"2") == (200, b"ok")
    assert [(c, body) for c, _, body in server.received] == [(1, b"1"), (2, b"2")]


def test_a_connection_the_service_says_it_closes_is_not_kept(server_with):
    server, pool = server_with(lambda n, method: "answer, saying close"), Connections()
    assert ask(pool, server) == (200, b"ok")
    assert not pool._idle.get(server.base)
    assert ask(pool, server) == (200, b"ok")
    assert server.connections == 2


def test_a_stale_connection_that_gives_no_answer_reconnects_once_for_a_get(server_with, monkeypatch):
    # The race the poll cannot see: closed just as the request goes out.
    monkeypatch.setattr(connections, "_dropped", lambda sock: False)
    server, pool = server_with(lambda n, method: "answer" if n == 1 else "close"), Connections()
    assert ask(pool, server) == (200, b"ok")
    assert ask(pool, server) == (200, b"ok")  # sent on connection 1 (no answer), again on connection 2
    assert [c for c, _, _ in server.received] == [1, 1, 2]


def test_a_post_is_never_sent_twice(server_with, monkeypatch):
    monkeypatch.setattr(connections, "_dropped", lambda sock: False)
    server, pool = server_with(lambda n, method: "answer" if n == 1 else "close"), Connections()
    assert ask(pool, server, "POST", b"first") == (200, b"ok")
    with pytest.raises(Unavailable):
        ask(pool, server, "POST", b"second")  # the service got it, then the connection dropped
    assert [body for _, _, body in server.received] == [b"first", b"second"]


def test_a_post_that_could_not_be_sent_on_a_stale_connection_is_sent_on_a_fresh_one(server_with, monkeypatch):
    monkeypatch.setattr(connections, "_dropped", lambda sock: False)
    server, pool = server_with(), Connections()
    assert ask(pool, server, "POST", b"first") == (200, b"ok")

    class StaleSocket:  # what a reset connection does on send
        def settimeout(self, _):
            pass

        def sendall(self, _):
            raise BrokenPipeError(32, "Broken pipe")

        def close(self):
            pass
    pool._idle[server.base] = collections.deque([StaleSocket()])
    assert ask(pool, server, "POST", b"second") == (200, b"ok")
    assert [(c, body) for c, _, body in server.received] == [(1, b"first"), (2, b"second")]


def test_a_streamed_body_is_never_replayed(server_with, monkeypatch):
    monkeypatch.setattr(connections, "_dropped", lambda sock: False)
    server, pool = server_with(lambda n, method: "answer" if n == 1 else "close"), Connections()
    assert ask(pool, server, "PUT", b"first") == (200, b"ok")
    upload = io.BytesIO(b"x" * 100_000)
    with pytest.raises(Unavailable):
        pool.request(server.base, "PUT", "/x", upload, {"Content-Length": "100000"}, 5.0)
    assert len(server.received) == 2


def test_a_stream_of_unknown_length_goes_chunked_and_the_connection_stays_usable(server_with):
    server, pool = server_with(), Connections()
    upload = io.BytesIO(bytes(range(256)) * 1000)  # 256,000 bytes: several chunks
    answer = pool.request(server.base, "POST", "/x", upload, {"Content-Type": "application/octet-stream"}, 5.0)
    assert (answer.status, answer.read()) == (200, b"ok")
    assert server.received[0][2] == bytes(range(256)) * 1000 and server.chunk_sizes == [256_000]
    assert ask(pool, server, "POST", b"next") == (200, b"ok")
    assert server.connections == 1 and server.received[1][2] == b"next"


def test_an_upload_that_breaks_off_on_the_callers_side_is_not_the_services_failure(server_with):
    class BrokenUpload:
        def read(self, _size):
            raise ConnectionResetError("the caller went away")
    server, pool = server_with(), Connections()
    with pytest.raises(connections.BodyBroken):
        pool.request(server.base, "PUT", "/x", BrokenUpload(), {"Content-Length": "100000"}, 5.0)
    with pytest.raises(connections.BodyBroken, match="ended after 5 of its 100000 bytes"):
        pool.request(server.base, "PUT", "/x", io.BytesIO(b"short"), {"Content-Length": "100000"}, 5.0)
    assert ask(pool, server) == (200, b"ok")  # and the next request goes as usual


def test_an_answer_streams_in_chunks_and_then_frees_the_connection(server_with):
    server, pool = server_with(), Connections()
    answer = pool.request(server.base, "GET", "/x", None, {}, 5.0)
    assert b"".join(answer.stream(1)) == b"ok"
    assert ask(pool, server) == (200, b"ok")
    assert server.connections == 1


def test_nobody_listening_is_unavailable_and_a_silent_service_a_timeout(server_with):
    pool = Connections()
    with pytest.raises(Unavailable):
        pool.request(f"http://127.0.0.1:{refused_port()}", "GET", "/x", None, {}, 5.0)
    silent = server_with(lambda n, method: time.sleep(2))
    with pytest.raises(TimeoutError):
        pool.request(silent.base, "GET", "/x", None, {}, 0.3)


def test_a_decoded_path_is_encoded_again_for_the_request_line(server_with):
    server, pool = server_with(), Connections()
    assert pool.request(server.base, "GET", "/a b/水?q=1", None, {}, 5.0).read() == b"ok"
    assert server.targets == ["/a%20b/%E6%B0%B4?q=1"]
