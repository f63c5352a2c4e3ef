"""Output fixtures: a per-test MQTT topic prefix, a port that opens onto the broker later (broker down, then
back), and a loopback webhook receiver. The broker itself is the run's (tests/conftest.py)."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from tests.mqtt_subscriber import Subscriber
from tests.network import free_port
from tests.webhook_receiver import Receiver


@pytest.fixture
def prefix():
    return f"matakota-test/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def subscribe():
    subscribers = []

    def make(host, port, topic):
        subscribers.append(Subscriber(host, port, topic))
        return subscribers[-1]
    yield make
    for s in subscribers:
        s.close()


class Forwarder:
    """A TCP port that is closed until `open()`, then forwards to a real broker: the broker "returns"."""

    def __init__(self, target_port: int):
        self.port, self.target_port = free_port(), target_port
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
def forwarder(broker):
    made = Forwarder(broker[1])
    yield made
    made.close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(), tls=None):
        made.append(Receiver(statuses, tls))
        return made[-1]
    yield make
    for r in made:
        r.close()
