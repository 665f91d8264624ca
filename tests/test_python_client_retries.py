"""notifier-client's retries against the real server: a send whose answer was lost when
the server stopped is stored once after the server is back; 429 waits its Retry-After;
and the retry rules themselves."""

import contextlib
import random
import socket
import threading
import time

import pytest

from notifier_client import Notifier, NotifierConnectionError, NotifierError, RetryPolicy
from notifier_client.retries import (
    SAFE,
    UNSENT_ONLY,
    parse_retry_after,
    retries_status,
    retries_transport_error,
)

from conftest import LiveServer, free_port, live_env


class AnswerCutter:
    """A TCP relay in front of a server that, when armed, lets one request through,
    runs ``on_answer`` as the answer comes back (stops the server) and closes the
    client's connection instead of relaying it: the server did the work, the client
    never heard."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.on_answer = None
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:  # the server is down: the client sees its connection closed
            client.close()
            return
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if self.on_answer is not None:
                    on_answer, self.on_answer = self.on_answer, None
                    on_answer()
                    self.cut.set()
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):  # shutdown wakes the pump's recv as well
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def close(self):
        self.listener.close()


class Waits:
    """The client's sleep between retries: really sleeps, and remembers each wait."""

    def __init__(self):
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        time.sleep(seconds)


def test_a_send_whose_answer_was_lost_is_stored_once_after_a_restart(
        redis_server, api_key, store, tmp_path_factory):
    env = {**live_env(redis_server.url, tmp_path_factory.mktemp("restart")),
           "NOTIFIER_SCHEDULER": "false"}
    servers = [LiveServer(env, workers=1)]
    cutter = AnswerCutter(servers[0].port)
    stopped = threading.Event()

    def stop_server():
        servers[0].stop()
        stopped.set()

    waits = Waits()
    client = Notifier(cutter.url, api_key, sleep=waits,
                      retry=RetryPolicy(attempts=100, base=0.1, cap=0.3))
    outcome = {}
    try:
        client.unread_count("rs-user")  # the worker is warm
        cutter.on_answer = stop_server
        sender = threading.Thread(target=lambda: outcome.setdefault(
            "sent", client.send("rs-user", "Invoice paid")))
        sender.start()
        assert stopped.wait(30), "the server never answered"
        assert cutter.cut.wait(5)
        time.sleep(0.5)  # the client retries against a stopped server meanwhile
        servers.append(LiveServer(env, workers=1, port=servers[0].port))
        sender.join(60)
    finally:
        client.close()
        cutter.close()
        servers[-1].stop()
    sent = outcome["sent"]
    assert sent.replayed is True  # the first try was stored; the retry found it
    assert len(waits.seconds) >= 2
    items, _ = store.feed.page("rs-user", limit=10)
    assert [(n.id, n.title) for n in items] == [(sent.ids[0], "Invoice paid")]


@pytest.fixture(scope="module")
def limited_server(redis_server, tmp_path_factory):
    server = LiveServer({**live_env(redis_server.url, tmp_path_factory.mktemp("limited")),
                         "NOTIFIER_API_RATE_LIMIT": "3 per 2 second",
                         "NOTIFIER_SCHEDULER": "false"}, workers=1)
    yield server
    server.stop()


def test_429_waits_the_retry_after_it_was_given(limited_server, api_key, store):
    waits = Waits()
    with Notifier(limited_server.url, api_key, sleep=waits) as client:
        started = time.monotonic()
        sent = [client.send("rl-user", f"n{i}") for i in range(5)]
        elapsed = time.monotonic() - started
    assert waits.seconds and all(w in (1.0, 2.0) for w in waits.seconds), waits.seconds
    assert elapsed >= sum(waits.seconds)
    items, _ = store.feed.page("rl-user", limit=10)
    assert sorted(n.id for n in items) == sorted(s.ids[0] for s in sent)
    assert len(items) == 5


def test_a_delete_is_retried_on_429(limited_server, api_key, store):
    waits = Waits()
    with Notifier(limited_server.url, api_key, sleep=waits) as client:
        sent = client.send_many(["rl-a"], "x")
        for _ in range(2):
            client.unread_count("rl-a")
        assert client.delete("rl-a", sent.ids[0]).deleted == sent.ids[0]
    assert waits.seconds


def test_a_retry_after_longer_than_allowed_raises_at_once(limited_server, api_key):
    waits = Waits()
    with Notifier(limited_server.url, api_key, sleep=waits,
                  retry=RetryPolicy(max_retry_after=0.5)) as client:
        for _ in range(3):
            client.unread_count("rl-b")
        with pytest.raises(NotifierError) as raised:
            client.unread_count("rl-b")
    assert (raised.value.status, raised.value.code) == (429, "rate_limited")
    assert raised.value.retry_after in (1.0, 2.0) and waits.seconds == []


def test_no_server_gives_up_after_the_policys_tries():
    waits = Waits()
    with Notifier(f"http://127.0.0.1:{free_port()}", "nk_x_y", sleep=waits,
                  retry=RetryPolicy(attempts=3, base=0.01, cap=0.02)) as client, \
            pytest.raises(NotifierConnectionError) as raised:
        client.send("nobody", "t")
    assert raised.value.status is None and "3 tries" in raised.value.message
    assert len(waits.seconds) == 2


# -- the rules, without a server ----------------------------------------------
def test_backoff_is_jittered_under_a_doubling_cap():
    policy = RetryPolicy(base=0.5, cap=3.0, rng=random.Random(7))
    for retry, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        samples = [policy.backoff(retry) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8 and min(samples) < ceiling * 0.2


def test_wait_honours_retry_after_and_the_number_of_tries():
    policy = RetryPolicy(attempts=3, max_retry_after=30)
    assert policy.wait(1, 7.0) == 7.0
    assert policy.wait(1, 31.0) is None
    assert policy.wait(3, None) is None and policy.wait(2, None) is not None


def test_what_is_retried():
    for status in (429, 502, 503, 504):
        assert retries_status(status, SAFE)
    for status in (400, 401, 404, 409, 422, 500):
        assert not retries_status(status, SAFE)
    assert retries_status(429, UNSENT_ONLY) and not retries_status(503, UNSENT_ONLY)
    assert retries_transport_error(True, SAFE) and retries_transport_error(False, SAFE)
    assert retries_transport_error(False, UNSENT_ONLY)
    assert not retries_transport_error(True, UNSENT_ONLY)


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT",
                             now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
