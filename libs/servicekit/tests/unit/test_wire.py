"""Reading an upstream's answer off a socket (servicekit.wire): every framing a service may use,
answers arriving in pieces, and what counts as broken."""
import socket
import threading

import pytest

from servicekit import wire


def answer_from(data: bytes, method: str = "GET", pieces: int = 1, then_close: bool = True):
    """A wire.Response reading `data` sent over a real socket pair in `pieces` sends."""
    ours, theirs = socket.socketpair()
    ours.settimeout(2)

    def send():
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            theirs.sendall(data[i:i + step])
        if then_close:
            theirs.close()
    sender = threading.Thread(target=send)
    sender.start()
    response = wire.Response(ours, method)
    sender.join()
    return response


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"a\": \"\xe6\xb0\xb4\"}"


@pytest.mark.parametrize("pieces", [1, 3, len(OK)])
def test_a_content_length_answer_arriving_in_any_pieces_reads_whole(pieces):
    response = answer_from(OK, pieces=pieces)
    assert response.status == 200
    assert response.headers == [("Content-Type", "application/json"), ("Content-Length", "12")]
    assert response.read() == '{"a": "水"}'.encode()
    assert response.reusable and not response.will_close


def test_a_chunked_answer_is_decoded_with_extensions_and_trailers():
    data = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=x\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n")
    for pieces in (1, 7, len(data)):
        response = answer_from(data, pieces=pieces)
        assert response.read() == b"hello world!"
        assert response.reusable


def test_a_chunked_answer_read_in_small_steps_gives_the_same_bytes():
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n"
    response = answer_from(data, pieces=5)
    parts = []
    while part := response.read(4):
        parts.append(part)
    assert b"".join(parts) == b"0123456789abc" and all(len(p) <= 4 for p in parts)
    assert response.reusable


def test_an_answer_without_length_runs_to_the_close_and_the_connection_is_not_kept():
    response = answer_from(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", pieces=3)
    assert response.will_close
    assert response.read() == b"all of it"
    assert not response.reusable


@pytest.mark.parametrize("head, method", [
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET"),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD"),
])
def test_answers_that_have_no_body_whatever_their_length_says(head, method):
    response = answer_from(head, method=method, then_close=False)  # no body follows, nor a close
    assert response.read() == b""
    assert response.reusable


def test_informational_answers_before_the_real_one_are_skipped():
    response = answer_from(b"HTTP/1.1 100 Continue\r\n\r\n" + OK, pieces=4)
    assert response.status == 200 and response.read() == '{"a": "水"}'.encode()


@pytest.mark.parametrize("head, closes", [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False),
])
def test_whether_the_service_keeps_the_connection(head, closes):
    response = answer_from(head)
    assert response.will_close is closes
    assert response.reusable is not closes


def test_bytes_after_the_body_make_the_connection_unfit_for_reuse():
    response = answer_from(OK + b"HTTP/1.1 200 OK\r\n")
    assert response.read() == '{"a": "水"}'.encode()
    assert not response.reusable


def test_a_close_before_any_byte_is_no_answer():
    with pytest.raises(wire.NoAnswer):
        answer_from(b"")


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Le",                      # closed inside the head
    b"SSH-2.0-OpenSSH\r\n\r\n",                             # not HTTP
    b"HTTP/1.1 2x0 OK\r\n\r\n",                             # not a status code
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",            # a header without a name
    b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",        # obsolete line folding
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
])
def test_broken_heads_are_refused(data):
    with pytest.raises(wire.BrokenAnswer):
        answer_from(data)


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",                       # closed early
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",               # bad size
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",  # no CRLF after data
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",              # closed in a chunk
])
def test_broken_bodies_are_refused(data):
    response = answer_from(data)
    with pytest.raises(wire.BrokenAnswer):
        response.read()


def test_a_head_longer_than_the_limit_is_refused():
    with pytest.raises(wire.BrokenAnswer, match="longer"):
        answer_from(b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"a" * (wire.MAX_HEAD_BYTES + 10) + b"\r\n\r\n")
