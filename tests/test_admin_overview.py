"""The admin overview: rates from worker reports, the page, and its live event stream."""

import json
import re
import subprocess
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sse_client import SSEStream

from notifier import create_app
from notifier.admin.events import AdminStream, AdminStreamSettings
from notifier.admin.stats import RateTracker, format_bytes, format_rate, online_for, redis_figures
from notifier.backend import backend
from notifier.core import widget_tokens as tokens
from notifier.stores.nodes import masters
from notifier.stores.presence import HOLDS, RELEASED
from notifier.stores.worker_stats import WorkerReports

from conftest import app_config, csrf_from, free_port, sign_in

PASSWORD = "correct horse battery"


def report(worker="h:1:aa", at=1000, sent=0, delivered=0, streams=0, users=0):
    host, pid, _ = worker.split(":")
    return {"worker": worker, "host": host, "pid": int(pid), "streams": streams,
            "users": users, "sent": sent, "delivered": delivered, "at": at}


# -- rates and formats ---------------------------------------------------------------
def test_rates_are_deltas_between_two_reports_of_a_worker():
    tracker = RateTracker()
    [first] = tracker.update([report(at=1000, sent=10, delivered=4)])
    assert first["sent_per_s"] is None and first["delivered_per_s"] is None
    [row] = tracker.update([report(at=3000, sent=30, delivered=10, streams=5)])
    assert (row["sent_per_s"], row["delivered_per_s"], row["streams"]) == (10.0, 3.0, 5)
    [same] = tracker.update([report(at=3000, sent=30, delivered=10)])  # read again
    assert same["sent_per_s"] == 10.0
    [later] = tracker.update([report(at=3500, sent=31, delivered=10)])
    assert later["sent_per_s"] == 2.0 and later["delivered_per_s"] == 0.0


def test_a_restarted_or_new_worker_starts_without_a_rate():
    tracker = RateTracker()
    tracker.update([report("a:1:x", at=1000, sent=100), report("b:2:y", at=1000, sent=5)])
    rows = tracker.update([report("a:1:x", at=2000, sent=3),  # counters went back: restarted
                           report("c:3:z", at=2000, sent=9)])
    assert [(r["worker"], r["sent_per_s"]) for r in rows] == [("a:1:x", None), ("c:3:z", None)]
    rows = tracker.update([report("a:1:x", at=3000, sent=4), report("b:2:y", at=3000, sent=7)])
    assert [r["sent_per_s"] for r in rows] == [1.0, None]  # b was forgotten while away


def test_malformed_reports_count_as_zero():
    [row] = RateTracker().update([{"worker": "w", "pid": "x", "streams": True, "at": None}])
    assert (row["pid"], row["streams"], row["users"]) == (0, 0, 0)


def test_formats():
    assert [format_bytes(n) for n in (None, 0, 1023, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "—", "0 B", "1023 B", "1.5 KiB", "5.0 MiB", "3072.0 GiB"]
    assert [format_rate(r) for r in (None, 0, 2.345, 99.94, 1234.4)] == [
        "—", "0.0", "2.3", "99.9", "1,234"]
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    ago = {s: (now - timedelta(seconds=s)).isoformat() for s in (5, 300, 7200, 200000)}
    assert [online_for(ago[s], now) for s in sorted(ago)] == [
        "just now", "for 5 min", "for 2 h", "for 2 d"]


# -- the page ----------------------------------------------------------------------------
@pytest.fixture
def quiet_app(redis_server, redis_client, tmp_path, monkeypatch):
    """An app under a key prefix of its own: the session's live server, whose workers
    report every second, cannot show up in what these tests count."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url, KEY_PREFIX="quiet"))


@pytest.fixture
def quiet_store(quiet_app):
    with quiet_app.app_context():
        return backend()


@pytest.fixture
def admin_client(quiet_app, quiet_store):
    quiet_store.accounts.create("root", PASSWORD, admin=True)
    client = quiet_app.test_client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    return client


def test_the_overview_renders_everything_without_script(admin_client, quiet_store):
    store = quiet_store
    store.worker_reports.report("web-1:4242:aa", {"pid": 4242, "host": "web-1", "streams": 7,
                                                  "users": 5, "sent": 1, "delivered": 2})
    store.presence.apply("web-1:4242:aa", [("bob", HOLDS), ("alice", HOLDS)])
    page = admin_client.get("/admin").text
    assert re.search(r'data-stat="online">2<', page)
    assert re.search(r'data-stat="streams">7<', page)
    assert re.search(r'data-stat="sent_per_s"[^>]*>—<', page)  # rates need two reports
    assert re.search(r'data-stat="used_memory">[0-9.]+ (KiB|MiB)<', page)
    assert re.search(r'data-stat="connected_clients">[0-9]+<', page)
    assert '<span class="mono">web-1:4242</span>' in page
    assert re.findall(r'presence-user">([^<]+)<', page) == ["alice", "bob"]
    assert "2 online users, by user id." in page
    assert re.search(r"data-no-workers hidden", page)
    assert 'data-events-url="/admin/events"' in page


def test_an_overview_with_nothing_running(admin_client):
    page = admin_client.get("/admin").text
    assert "Nobody is online." in page and re.search(r'data-stat="online">0<', page)
    assert "No worker is reporting" in page and not re.search(r"data-no-workers hidden", page)


def test_the_overview_lists_the_first_50_online_users(admin_client, quiet_store):
    store = quiet_store
    store.presence.apply("w:1:a", [(f"user{i:03d}", HOLDS) for i in range(60)])
    page = admin_client.get("/admin").text
    assert len(re.findall(r'presence-user">', page)) == 50
    assert "The first 50 of 60 online users, by user id." in page


# -- the stream, in this process ---------------------------------------------------------------
def parse(chunk: bytes) -> list[tuple[str, object]]:
    """(event name, decoded data) of each event in ``chunk``; retry hints as ("retry", ms)."""
    events = []
    for block in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n")
                      if line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
        elif "retry" in fields:
            events.append(("retry", int(fields["retry"])))
    return events


@pytest.fixture
def admin_session(quiet_store):
    """A signed-in admin of the quiet app (its own key prefix, see ``quiet_app``)."""
    store = quiet_store
    store.accounts.create("root", PASSWORD, admin=True)
    return store.accounts.start_session(store.accounts.get("root")).get_id()


def stream_of(state, session_id, stop=None, **settings):
    settings = AdminStreamSettings(**{"interval": 0.02, "heartbeat": 0.05, **settings})
    return iter(AdminStream(state=state, session_id=session_id, settings=settings,
                            stop=stop or threading.Event()))


def test_the_stream_sends_stats_every_interval_and_presence_on_change(quiet_store, admin_session):
    store = quiet_store
    events = stream_of(store, admin_session)
    assert parse(next(events)) == [("retry", 3000)]
    store.worker_reports.report("w:7:a", {"pid": 7, "host": "w", "streams": 1, "users": 1,
                                          "sent": 0, "delivered": 0})
    first = dict(parse(next(events)))
    assert first["presence"] == {"count": 0, "users": []}
    assert first["stats"]["streams"] == 1 and first["stats"]["sent_per_s"] is None
    assert first["stats"]["redis"]["used_memory"] > 0
    assert [w["pid"] for w in first["stats"]["workers"]] == [7]
    assert [name for name, _ in parse(next(events))] == ["stats"]  # nobody came or went
    store.presence.apply("w:7:a", [("alice", HOLDS)])
    changed = dict(parse(next(events)))
    assert [u["user_id"] for u in changed["presence"]["users"]] == ["alice"]
    assert changed["presence"]["count"] == 1
    time.sleep(0.01)  # Redis's clock moves on, so the next report has a later "at"
    store.worker_reports.report("w:7:a", {"pid": 7, "host": "w", "streams": 1, "users": 1,
                                          "sent": 50, "delivered": 20})
    stats = dict(parse(next(events)))["stats"]
    assert stats["sent_per_s"] > 0 and stats["delivered_per_s"] > 0
    store.presence.apply("w:7:a", [("alice", RELEASED)])
    assert dict(parse(next(events)))["presence"] == {"count": 0, "users": []}


def test_a_long_interval_is_filled_with_pings(quiet_store, admin_session):
    store = quiet_store
    events = stream_of(store, admin_session, interval=0.3, heartbeat=0.1)
    next(events)
    frames = [next(events) for _ in range(7)]
    kinds = ["ping" if f == b": ping\n\n" else "read" for f in frames]
    assert kinds[0] == "read" and kinds.count("read") >= 2, kinds
    assert "read, read" not in ", ".join(kinds), kinds  # pings fill every gap (~2 each)


def test_the_stream_ends_when_the_worker_stops(quiet_store, admin_session):
    store = quiet_store
    stop = threading.Event()
    events = stream_of(store, admin_session, stop=stop)
    next(events), next(events)
    stop.set()
    [(name, retry)] = parse(next(events))
    assert name == "retry" and 500 <= retry <= 5000  # reconnects spread over a few seconds
    with pytest.raises(StopIteration):
        next(events)


@pytest.mark.parametrize("change", ["revoke_admin", "disable", "sign_out"])
def test_the_stream_ends_when_the_session_is_no_longer_an_admins(quiet_store, admin_session,
                                                                  change):
    store = quiet_store
    events = stream_of(store, admin_session)
    next(events), next(events)
    if change == "revoke_admin":
        store.accounts.set_admin("root", False)
    elif change == "disable":
        store.accounts.set_disabled("root", True)
    else:
        store.accounts.end_session(store.accounts.load_session(admin_session))
    deadline = time.monotonic() + 2
    with pytest.raises(StopIteration):
        while time.monotonic() < deadline:
            next(events)


def test_an_outage_ends_the_stream_with_a_retry_hint(quiet_store, admin_session):
    store = quiet_store
    gone = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # fail fast
    broken = replace(store, redis=gone, worker_reports=WorkerReports(gone, store.keys,
                                                                     interval=1))
    events = stream_of(broken, admin_session, retry_ms=1000)
    next(events)
    [(name, retry)] = parse(next(events))
    assert name == "retry" and 1000 <= retry <= 3000
    with pytest.raises(StopIteration):
        next(events)


# -- the stream, served by gunicorn ----------------------------------------------------------------
def signed_in_cookie(base_url: str, username: str) -> str:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        page = http.get("/login")
        response = http.post("/login", data={"username": username, "password": PASSWORD,
                                             "csrf_token": csrf_from(page.text)})
        assert response.status_code == 302, response.text
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def server_pids(server) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True,
                         text=True).stdout
    return {int(pid) for pid in out.split()}


def presence_users(stream: SSEStream, want, within: float = 8.0) -> list[str]:
    """Read ``presence`` events until ``want(users)`` holds; returns those users."""
    deadline = time.monotonic() + within
    while True:
        event = stream.next_of("presence", within=max(0.1, deadline - time.monotonic()))
        users = [u["user_id"] for u in event.json()["users"]]
        if want(users):
            return users


def test_an_admin_streams_stats_and_presence_from_gunicorn(live_server, store):
    store.accounts.create("boss", PASSWORD, admin=True)
    cookie = signed_in_cookie(live_server.url, "boss")
    with SSEStream(live_server.url, "/admin/events", headers={"Cookie": cookie}) as admin:
        assert admin.status == 200
        assert admin.headers["content-type"].startswith("text/event-stream")
        assert admin.headers["cache-control"] == "no-cache"
        first = admin.next_of("stats")
        assert first.json()["redis"]["connected_clients"] >= 1
        # Both of this server's workers report (other servers of the session may too).
        deadline = time.monotonic() + 8
        while not server_pids(live_server) <= {w["pid"] for w in
                                               admin.next_of("stats").json()["workers"]}:
            assert time.monotonic() < deadline, "the server's workers never all reported"
        # A user's stream opening shows up, and its closing too.
        token = tokens.mint("test-secret", "watched-user", 300)[0]
        user = SSEStream(live_server.url, f"/events?token={token}")
        assert user.status == 200
        user.next_of("unread")
        presence_users(admin, lambda users: "watched-user" in users)
        stats = admin.next_of("stats").json()
        assert stats["streams"] >= 1
        user.close()  # noticed at its next heartbeat (1 s here)
        presence_users(admin, lambda users: "watched-user" not in users)


def test_the_stream_ends_for_a_demoted_admin(live_server, store):
    store.accounts.create("temp-admin", PASSWORD, admin=True)
    cookie = signed_in_cookie(live_server.url, "temp-admin")
    with SSEStream(live_server.url, "/admin/events", headers={"Cookie": cookie}) as admin:
        admin.next_of("stats")
        store.accounts.set_admin("temp-admin", False)
        deadline = time.monotonic() + 6
        while admin.next_event(within=6) is not None:  # checked every heartbeat (1 s here)
            assert time.monotonic() < deadline, "the stream outlived the admin rights"
    with SSEStream(live_server.url, "/admin/events", headers={"Cookie": cookie}) as again:
        assert again.status == 403


def test_non_admins_get_json_errors_never_a_stream(live_server, store):
    store.accounts.create("mallory", PASSWORD)
    cookie = signed_in_cookie(live_server.url, "mallory")
    for headers, status, code in (({"Cookie": cookie}, 403, "forbidden"),
                                  ({}, 401, "unauthorized")):
        with SSEStream(live_server.url, "/admin/events", headers=headers) as stream:
            assert stream.status == status
            assert stream.headers["content-type"] == "application/json"
            body = stream.reader.read(int(stream.headers["content-length"]))
            assert json.loads(body)["error"]["code"] == code


def test_redis_figures_are_summed_over_every_master(redis_client):
    figures = redis_figures(redis_client)
    servers = masters(redis_client)
    used = [node.info("memory")["used_memory"] for node in servers]
    # All of them, not one (each of a cluster's 3 holds about a third); other clients
    # write meanwhile.
    assert figures["used_memory"] >= sum(used) * 0.9
    assert figures["connected_clients"] >= len(servers)  # one of ours on each at least
    assert figures["maxmemory"] == 0  # the test servers have no limit
