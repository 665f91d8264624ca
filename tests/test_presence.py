"""Presence: online while a stream is open on any worker; no ghost after a crash.

The store's scripts run on the session's real redis-server; the server tests run
a real gunicorn with 2 gevent workers and a 1 s presence interval.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from sse_client import SSEStream

from notifier import create_app
from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.stores.lua_scripts import script_source
from notifier.stores.presence import Presence
from notifier.stores.worker_stats import WorkerReports

from conftest import TEST_PREFIX, LiveServer, app_config, live_env

KEYS = Keys(TEST_PREFIX)
#: The store's own tests use keys no live server of other tests reads or sweeps.
STORE_KEYS = Keys(f"{TEST_PREFIX}-presence")
INTERVAL = 1.0  # the live server's NOTIFIER_PRESENCE_INTERVAL


def eventually(check, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def presence_subscriptions(client, keys: Keys = KEYS) -> list:
    """Pub/Sub connections hearing every presence channel: one subscribed to them all on
    one Redis, on a cluster one per master, SSUBSCRIBEd to the channels it owns."""
    channels = keys.presence_channels()
    if not isinstance(client, redis.RedisCluster):
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*channels)
        return [pubsub]
    subscriptions = []
    for node in client.get_primaries():
        owned = [c for c in channels if client.get_node_from_key(c).name == node.name]
        pubsub = client.get_redis_connection(node).pubsub(ignore_subscribe_messages=True)
        for channel in owned:  # one SSUBSCRIBE per slot
            pubsub.ssubscribe(channel)
        subscriptions.append(pubsub)
    return subscriptions


class Transitions:
    """Collects the presence channels' messages in a thread."""

    def __init__(self, client, keys: Keys = KEYS):
        self.pubsubs = presence_subscriptions(client, keys)
        for pubsub in self.pubsubs:  # read the subscribe confirmations
            deadline = time.monotonic() + 2
            while pubsub.get_message(timeout=0.2) is not None or not pubsub.subscribed:
                assert time.monotonic() < deadline, "no subscribe confirmation"
        self.messages: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for pubsub in self.pubsubs:
                message = pubsub.get_message(timeout=0.01)
                if message is not None:
                    self.messages.append(json.loads(message["data"]))

    def of(self, user_id: str) -> list[bool]:
        return [m["online"] for m in self.messages if m["user_id"] == user_id]

    def close(self):
        self._stop.set()
        self._thread.join(2)
        for pubsub in self.pubsubs:
            pubsub.close()


@pytest.fixture
def transitions(redis_client):
    collector = Transitions(redis_client)
    yield collector
    collector.close()


# -- the store, on real Redis ---------------------------------------------------------


@pytest.fixture
def presence(redis_client):
    return Presence(redis_client, STORE_KEYS, interval=0.2)  # entries live 300 ms


@pytest.fixture
def store_transitions(redis_client):
    collector = Transitions(redis_client, STORE_KEYS)
    yield collector
    collector.close()


def test_iso_utc_in_lua_matches_python(redis_client):
    script = script_source("presence_page", libraries=("iso_utc",)).split("local time")[0]
    moments = [datetime(1970, 1, 1, tzinfo=UTC), datetime(2000, 2, 29, 23, 59, 59, 999000, UTC),
               datetime(2024, 12, 31, 12, 0, 0, 1000, UTC), datetime(2100, 3, 1, tzinfo=UTC)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments += [start + timedelta(days=d, milliseconds=d * 7919) for d in range(0, 3000, 37)]
    for moment in moments:
        ms = int(moment.timestamp() * 1000)
        iso = redis_client.eval(script + "return iso_utc(tonumber(ARGV[1]))", 0, ms).decode()
        assert iso == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_two_workers_entries_and_transitions_once(presence, store_transitions):
    transitions = store_transitions
    assert presence.apply("A", [("alice", "+")])[0] == 1
    assert presence.apply("B", [("alice", "+")])[0] == 0  # already online
    assert presence.apply("A", [("alice", "-")])[0] == 0  # B still holds a stream
    status = presence.status("alice")
    assert status.online and status.since is not None
    assert presence.apply("B", [("alice", "-")])[0] == 1
    status = presence.status("alice")
    assert not status.online and status.since is None and status.last_seen is not None
    assert presence.apply("B", [("alice", "-")])[0] == 0  # a repeated leave changes nothing
    assert eventually(lambda: len(transitions.messages) == 2, 2)
    first, last = transitions.messages
    assert (first["online"], last["online"]) == (True, False)
    assert datetime.fromisoformat(last["at"]) == presence.status("alice").last_seen


def test_expired_entries_read_offline_at_once_and_one_sweep_publishes(presence,
                                                                     store_transitions):
    transitions = store_transitions
    presence.apply("dead", [("ghost", "+"), ("other", "+")])
    presence.apply("alive", [("other", "+")])
    assert presence.online_among(["ghost", "other", "nobody"]) == {"ghost", "other"}
    # Worker "dead" stops refreshing; "alive" keeps refreshing "other".
    deadline = time.monotonic() + 3
    while presence.status("ghost").online:
        assert time.monotonic() < deadline
        presence.apply("alive", [("other", "+")])
        time.sleep(0.05)
    # Before any sweep: offline in every read, nothing published yet.
    assert presence.online_among(["ghost", "other"]) == {"other"}
    assert presence.online_count() == 1
    assert [u for u, _ in presence.online_page(10).users] == ["other"]
    assert transitions.of("ghost") == [True]
    expired_at = presence.status("ghost").last_seen
    # Two workers sweep at once: exactly one of them publishes.
    _, expired = presence.apply("w1", [])
    assert expired == ["ghost"]
    assert presence.apply("w1", [("ghost", "?")])[0] == 1
    assert presence.apply("w2", [("ghost", "?")])[0] == 0
    assert eventually(lambda: transitions.of("ghost") == [True, False], 2)
    assert presence.status("ghost").last_seen == expired_at
    assert transitions.of("other") == [True]
    # A stale entry of a dead worker does not keep a user online once the live one leaves.
    presence.apply("alive", [("other", "-")])
    assert not presence.status("other").online


def test_presence_spreads_over_partitions_and_reads_across_them(presence, redis_client):
    users = [f"p{i}" for i in range(64)]
    presence.apply("A", [(user, "+") for user in users])
    parts = {STORE_KEYS.presence_partition(user) for user in users}
    assert len(parts) > 8  # spread, not one hot key
    assert sum(redis_client.zcard(STORE_KEYS.presence_until(p)) for p in parts) == 64
    assert presence.online_count() == 64
    assert presence.online_among(["p3", "p40", "nobody"]) == {"p3", "p40"}
    seen, cursor = [], None
    while True:
        page = presence.online_page(10, cursor)
        seen += [user for user, _ in page.users]
        if page.next is None:
            break
        cursor = page.next
    assert seen == sorted(users)
    presence.apply("A", [(user, "-") for user in users])
    assert presence.online_count() == 0


def test_pages_are_in_user_order_with_count_and_cursor(presence):
    presence.apply("A", [(f"u{i}", "+") for i in (3, 1, 4, 5, 9, 2, 6)])
    page = presence.online_page(3)
    assert (page.count, [u for u, _ in page.users], page.next) == (7, ["u1", "u2", "u3"], "u3")
    presence.apply("A", [("u2", "-"), ("u4", "-")])  # leaving does not shift the cursor
    page = presence.online_page(3, page.next)
    assert ([u for u, _ in page.users], page.next) == (["u5", "u6", "u9"], None)
    assert presence.online_page(3, "u9").users == []


def test_worker_reports_drop_the_dead(redis_client):
    # A prefix of its own: the session's live servers report into the shared one meanwhile.
    keys = Keys("reports-test")
    reports = WorkerReports(redis_client, keys, interval=1)
    # A dead worker that reported into the same partition, and one into another.
    dead = [f"h:1:{n}" for n in range(40)]
    for worker_id in dead:
        redis_client.hset(reports.hash_of(worker_id), worker_id, json.dumps({"at": 1}))
    same = next(w for w in dead if reports.hash_of(w) == reports.hash_of("h:2:aa"))
    other = next(w for w in dead if reports.hash_of(w) != reports.hash_of("h:2:aa"))
    reports.report("h:2:aa", {"worker": "h:2:aa", "pid": 2, "host": "h", "streams": 3,
                              "users": 2, "sent": 5, "delivered": 4})
    assert redis_client.hkeys(reports.hash_of("h:2:aa")) == [b"h:2:aa"]  # same one dropped
    assert redis_client.hexists(reports.hash_of(other), other)  # left, but never read
    assert same not in redis_client.hkeys(reports.hash_of(same))
    (live,) = reports.read_workers()
    assert live["streams"] == 3 and live["sent"] == 5
    assert abs(live["at"] - time.time() * 1000) < 5000
    reports.remove("h:2:aa")
    assert reports.read_workers() == []


# -- the HTTP API -------------------------------------------------------------------------


def test_presence_api(client, auth, store):
    store.presence.apply("w", [("bob", "+"), ("amy", "+")])
    page = client.get("/api/v1/presence?limit=1", headers=auth)
    assert page.status_code == 200
    assert page.json["online"] == 2 and page.json["next"] == "amy"
    assert [u["user_id"] for u in page.json["users"]] == ["amy"]
    rest = client.get("/api/v1/presence", query_string={"cursor": "amy"}, headers=auth).json
    assert [u["user_id"] for u in rest["users"]] == ["bob"] and rest["next"] is None
    bob = client.get("/api/v1/users/bob/presence", headers=auth).json
    assert bob["online"] is True and bob["since"] and bob["last_seen"]
    never = client.get("/api/v1/users/nobody/presence", headers=auth).json
    assert never == {"user_id": "nobody", "online": False, "since": None, "last_seen": None}


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
    ("cursor=a%7Bb", "cursor"), ("cursor=" + "x" * 65, "cursor"),
])
def test_presence_list_rejects_bad_parameters(client, auth, query, field):
    response = client.get(f"/api/v1/presence?{query}", headers=auth)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_user_presence_rejects_a_bad_id_and_needs_a_key(client, auth):
    response = client.get("/api/v1/users/a%7Bb/presence", headers=auth)
    assert response.status_code == 422 and response.json["error"]["field"] == "user_id"
    assert client.get("/api/v1/users/amy/presence").status_code == 401
    assert client.get("/api/v1/presence").status_code == 401


@pytest.mark.parametrize("setting", ["PRESENCE_INTERVAL", "STATS_INTERVAL"])
@pytest.mark.parametrize("value", [0, -1, "10"])
def test_intervals_must_be_positive_numbers(redis_server, tmp_path, monkeypatch, setting, value):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(ValueError, match=setting):
        create_app(app_config(redis_server.url, **{setting: value}))


def test_create_app_starts_no_heartbeat(app):
    runtime = app.extensions["notifier.live"]
    assert not runtime.started and runtime.heartbeat is None and runtime._hub is None


# -- a real gunicorn with 2 workers -------------------------------------------------------


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory):
    env = {**live_env(redis_server.url, tmp_path_factory.mktemp("presence")),
           "NOTIFIER_PRESENCE_INTERVAL": str(INTERVAL)}
    live = LiveServer(env, workers=2)
    yield live
    live.stop()


@pytest.fixture
def api(server, api_key):
    # No keep-alive: a connection to a worker the test kills would be reset.
    with httpx.Client(base_url=server.url, timeout=10,
                      limits=httpx.Limits(max_keepalive_connections=0),
                      headers={"Authorization": f"Bearer {api_key}"}) as http:
        yield http


def open_stream(server: LiveServer, user_id: str) -> SSEStream:
    token = tokens.mint("test-secret", user_id, 300)[0]
    stream = SSEStream(server.url, f"/events?token={token}")
    assert stream.status == 200
    stream.next_of("unread")  # set up: subscribed, so the hub has reported it
    return stream




def stream_on_another_worker(server, user_id, pid) -> tuple[SSEStream, list[SSEStream]]:
    """Open ``user_id``'s streams until one is on a worker other than ``pid``.

    Returns that stream and the ones that landed on ``pid`` meanwhile.
    """
    on_pid = []
    for _ in range(40):  # each lands on either worker (SO_REUSEPORT hashing)
        stream = open_stream(server, user_id)
        if server.worker_of(stream) != pid:
            return stream, on_pid
        on_pid.append(stream)
    raise AssertionError("every stream landed on one worker")


def entry_pids(redis_client, user_id) -> set[int]:
    members = redis_client.zrange(KEYS.presence_entries(user_id), 0, -1)
    return {int(m.decode().rsplit(":", 2)[1]) for m in members}


def online(api, user_id) -> bool:
    for _ in range(20):
        try:
            return api.get(f"/api/v1/users/{user_id}/presence").json()["online"]
        except httpx.TransportError:  # a connection that met a killed worker: ask again
            time.sleep(0.01)
    raise AssertionError("the server kept resetting connections")


def test_online_while_a_stream_is_open_offline_with_last_seen_after(server, api, transitions):
    assert not online(api, "solo")
    stream = open_stream(server, "solo")
    assert eventually(lambda: online(api, "solo"), 2)
    listed = api.get("/api/v1/presence").json()
    assert "solo" in [u["user_id"] for u in listed["users"]] and listed["online"] >= 1
    stream.close()  # noticed at the stream's next heartbeat (1 s)
    assert eventually(lambda: not online(api, "solo"), 4)
    status = api.get("/api/v1/users/solo/presence").json()
    assert status["since"] is None and status["last_seen"] is not None
    assert eventually(lambda: transitions.of("solo") == [True, False], 2)


def test_heartbeats_keep_an_open_stream_online_and_restore_lost_presence(server, api,
                                                                        redis_client,
                                                                        transitions):
    stream = open_stream(server, "steady")
    assert eventually(lambda: online(api, "steady"), 2)
    part = KEYS.presence_partition("steady")
    first_expiry = redis_client.zscore(KEYS.presence_until(part), "steady")
    watch_until = time.monotonic() + 2.5 * INTERVAL  # well past an entry's 1.5 intervals
    while time.monotonic() < watch_until:
        assert online(api, "steady")
        time.sleep(0.05)
    assert redis_client.zscore(KEYS.presence_until(part), "steady") > first_expiry + 1000
    assert transitions.of("steady") == [True]
    # Redis loses presence (a restart without persistence): the next heartbeat restores it.
    redis_client.delete(KEYS.presence_until(part), KEYS.presence_online(part),
                        KEYS.presence_entries("steady"))
    assert eventually(lambda: online(api, "steady"), 1.5 * INTERVAL)
    stream.close()
    assert eventually(lambda: not online(api, "steady"), 4)


def test_closing_the_streams_on_one_worker_keeps_the_user_online(server, api, redis_client,
                                                                transitions):
    first = open_stream(server, "tabs")
    pid_a = server.worker_of(first)
    on_b, more_on_a = stream_on_another_worker(server, "tabs", pid_a)
    pid_b = server.worker_of(on_b)
    assert eventually(lambda: entry_pids(redis_client, "tabs") == {pid_a, pid_b}, 2)
    for stream in [first, *more_on_a]:
        stream.close()
    assert eventually(lambda: entry_pids(redis_client, "tabs") == {pid_b}, 4)
    time.sleep(INTERVAL)  # a heartbeat later, still online
    assert online(api, "tabs") and transitions.of("tabs") == [True]
    on_b.close()
    assert eventually(lambda: not online(api, "tabs"), 4)
    assert eventually(lambda: transitions.of("tabs") == [True, False], 2)
    time.sleep(0.3)
    assert transitions.of("tabs") == [True, False]  # each transition once


def test_a_killed_workers_users_go_offline_within_two_intervals(server, api, redis_client,
                                                                transitions):
    doomed = open_stream(server, "doomed")
    victim = server.worker_of(doomed)
    survivor, also_on_victim = stream_on_another_worker(server, "survivor", victim)
    survivor_pid = server.worker_of(survivor)
    assert eventually(lambda: entry_pids(redis_client, "doomed") == {victim}
                      and survivor_pid in entry_pids(redis_client, "survivor"), 2)
    assert online(api, "doomed") and online(api, "survivor")
    assert eventually(lambda: victim in {w["pid"] for w in server_workers(redis_client)}, 3)
    victim_id = next(w["worker"] for w in server_workers(redis_client) if w["pid"] == victim)

    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    while online(api, "doomed"):
        assert online(api, "survivor")
        assert time.monotonic() - killed < 2 * INTERVAL, "still online after two intervals"
        time.sleep(0.02)
    assert eventually(lambda: transitions.of("doomed") == [True, False], 2 * INTERVAL)
    assert time.monotonic() - killed < 2 * INTERVAL, "offline not published in two intervals"
    assert online(api, "survivor") and transitions.of("survivor") == [True]
    # Its stats report goes too (after three stats intervals); the survivor's stays.
    assert eventually(lambda: victim_id not in {w["worker"] for w in
                                                 server_workers(redis_client)}, 5)
    assert survivor_pid in {w["pid"] for w in server_workers(redis_client)}
    for stream in [doomed, survivor, *also_on_victim]:
        stream.close()


def server_workers(redis_client) -> list[dict]:
    return WorkerReports(redis_client, KEYS, interval=1).read_workers()


def test_worker_stats_count_streams_sends_and_deliveries(server, api, redis_client):
    def ours():  # other servers of the test session report into the same hash
        return [w for w in server_workers(redis_client) if w["pid"] in server.worker_pids()]

    def totals():
        workers = ours()
        return {k: sum(w[k] for w in workers) for k in ("streams", "users", "sent", "delivered")}

    # Both workers reporting, and the streams of earlier tests noticed closed.
    assert eventually(lambda: len(ours()) == 2 and totals()["streams"] == 0, 8), totals()
    before = totals()
    streams = [open_stream(server, "counted"), open_stream(server, "counted")]
    holders = {server.worker_of(stream) for stream in streams}
    sent = api.post("/api/v1/notifications", json={"user_ids": ["counted", "x1", "x2"],
                                                   "title": "t"})
    assert sent.status_code == 201
    for stream in streams:
        assert stream.next_of("notification").json()["title"] == "t"
    expected = {"streams": before["streams"] + 2, "users": before["users"] + len(holders),
                "sent": before["sent"] + 3, "delivered": before["delivered"] + 2}
    assert eventually(lambda: totals() == expected, 4), (totals(), expected)
    for stream in streams:
        stream.close()
