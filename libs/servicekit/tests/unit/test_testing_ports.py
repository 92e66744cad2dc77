"""The kit's test helpers for ports: an upstream that is down must stay down for the whole test."""
import socket

import pytest

from servicekit.testing import free_port, refused_port


def test_a_refused_port_refuses_and_no_server_of_the_test_can_be_given_it():
    port = refused_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    # free_port() is how the tests' servers get their ports: never this one while it is held.
    assert port not in {free_port() for _ in range(300)}
