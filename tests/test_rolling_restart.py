"""gunicorn's graceful reload (SIGHUP, what ``systemctl reload notifier`` sends) while
streams are open and sends go on: every stream reconnects and resumes, with nothing
lost and nothing twice.

The streams behave as browsers' EventSource does: on a close they wait the ``retry:``
the server hinted and reconnect with the last event id they saw. The sender behaves as
a careful service does: each send carries an idempotency key, so a send whose
connection the reload cut is retried without being stored twice.
"""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest
from sse_client import SSEStream

from notifier.core import widget_tokens

from conftest import LiveServer, live_env

USERS = ("ann", "bob", "cid")
STREAMS_PER_USER = 2
SENDS = 240


class Follower(threading.Thread):
    """One browser tab's event stream, reconnecting and resuming as EventSource does."""

    def __init__(self, url: str, user_id: str, sent: list[str], sending_done: threading.Event):
        super().__init__(daemon=True)
        self.url, self.user_id, self.sent, self.sending_done = url, user_id, sent, sending_done
        self.token = widget_tokens.mint("test-secret", user_id, 600)[0]
        self.received: list[str] = []
        self.connections = 0
        self.last_id: str | None = None
        self.deadline = time.monotonic() + 90

    def caught_up(self) -> bool:
        return self.sending_done.is_set() and len(self.received) >= len(self.sent)

    def run(self) -> None:
        while not self.caught_up() and time.monotonic() < self.deadline:
            retry_ms = 300
            headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
            try:
                with SSEStream(self.url, f"/events?token={self.token}", headers,
                               timeout=5) as stream:
                    if stream.status != 200:
                        continue
                    self.connections += 1
                    while not self.caught_up():
                        event = stream.next_event(include_comments=True, within=5)
                        if event is None:
                            break
                        if event.retry is not None:
                            retry_ms = event.retry
                        if event.id is not None:
                            self.last_id = event.id
                        if event.event == "notification":
                            self.received.append(event.nid)
            except (OSError, TimeoutError, ValueError, IndexError):
                pass  # a cut connection (mid-header or mid-stream): reconnect
            if not self.caught_up():
                time.sleep(retry_ms / 1000)


@pytest.fixture
def reloadable(redis_server, redis_client, tmp_path):
    server = LiveServer(live_env(redis_server.url, tmp_path / "instance"), workers=2)
    yield server
    server.stop()


@pytest.mark.slow
def test_a_graceful_reload_loses_and_repeats_nothing(reloadable, store):
    secret = store.api_keys.create("reload")[1]
    sent: dict[str, list[str]] = {user_id: [] for user_id in USERS}
    sending_done = threading.Event()
    followers = [Follower(reloadable.url, user_id, sent[user_id], sending_done)
                 for user_id in USERS for _ in range(STREAMS_PER_USER)]
    for follower in followers:
        follower.start()
    deadline = time.monotonic() + 15
    while sum(f.connections for f in followers) < len(followers):
        assert time.monotonic() < deadline, "the streams did not open"
        time.sleep(0.05)
    booted = reloadable.log.read_text().count("Booting worker")
    retried: list[int] = []

    def send_all() -> None:
        with httpx.Client(base_url=reloadable.url, timeout=10,
                          headers={"Authorization": f"Bearer {secret}"}) as http:
            for number in range(SENDS):
                user_id = USERS[number % len(USERS)]
                body = {"user_id": user_id, "title": f"n{number}",
                        "idempotency_key": f"reload-{number}"}
                for _attempt in range(20):
                    try:
                        response = http.post("/api/v1/notifications", json=body)
                    except httpx.TransportError:
                        retried.append(number)
                        time.sleep(0.1)
                        continue
                    if response.status_code == 201:
                        break
                    assert response.status_code == 503, response.text
                    retried.append(number)
                    time.sleep(0.1)
                else:
                    raise AssertionError(f"send {number} failed 20 times")
                sent[user_id].append(response.json()["notifications"][0]["id"])
                time.sleep(0.02)
        sending_done.set()

    sender = threading.Thread(target=send_all)
    sender.start()
    time.sleep(1.5)
    reloadable.process.send_signal(signal.SIGHUP)
    sender.join(timeout=60)
    assert sending_done.is_set(), "the sends did not finish"
    for follower in followers:
        follower.join(timeout=90)
    assert reloadable.log.read_text().count("Booting worker") >= booted + 2, "no reload"

    assert sum(map(len, sent.values())) == SENDS
    for follower in followers:
        wanted = sent[follower.user_id]
        got = follower.received
        assert got == wanted, (
            f"{follower.user_id}: {len(set(wanted) - set(got))} lost, "
            f"{len(got) - len(set(got))} twice, over {follower.connections} connections")
        assert follower.connections >= 2, "the stream was never moved to a new worker"
    print(f"sends retried after a cut connection: {len(retried)}")
