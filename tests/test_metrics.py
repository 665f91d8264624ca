"""``GET /metrics``: guarded by its token, and the sum over every gunicorn worker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sse_client import SSEStream

from notifier import create_app
from notifier.api.send_metrics import send_outcome
from notifier.backend import backend
from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.core.metrics_files import pid_of, prepare_multiprocess_dir
from notifier.delivery.queue import DeliveryQueue
from notifier.scheduling.scheduler import Runner

from conftest import ARTIFACTS, ROOT, TEST_PREFIX, LiveServer, app_config, live_env
from peers.sms_provider import Answer, SmsProvider

TOKEN = "scrape-me-0123456789"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory) -> Iterator[LiveServer]:
    """Two workers with metrics on (their own module: other tests' servers stay as they are)."""
    instance = tmp_path_factory.mktemp("metrics")
    # A file of an earlier run's process, which the starting master must clear away.
    (instance / "metrics").mkdir()
    subprocess.run([sys.executable, "-c", "from notifier.core import metrics; "
                    "metrics.sends.labels('send_notification', 'created').inc(1000)"],
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(instance / "metrics")},
                   check=True)
    assert list((instance / "metrics").glob("counter_*.db"))
    server = LiveServer({**live_env(redis_server.url, instance),
                         "NOTIFIER_METRICS_TOKEN": TOKEN,
                         "NOTIFIER_SCHEDULER": "false",
                         # A stream that stops reading falls behind after 16 events.
                         "NOTIFIER_SSE_QUEUE_SIZE": "16"}, workers=2)
    server.metrics_dir = instance / "metrics"
    yield server
    server.stop()


def fresh(server: LiveServer, **kwargs) -> httpx.Client:
    """A client that opens a new connection per request, so both workers serve some."""
    return httpx.Client(base_url=server.url, timeout=10,
                        limits=httpx.Limits(max_keepalive_connections=0), **kwargs)


def scrape(server: LiveServer) -> dict[tuple[str, tuple], float]:
    """Every sample of ``/metrics``, by (name, sorted labels)."""
    with fresh(server) as http:
        response = http.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(condition, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (result := condition()) is not None:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def open_stream(server: LiveServer, user_id: str) -> SSEStream:
    token = tokens.mint("test-secret", user_id, 300)[0]
    stream = SSEStream(server.url, f"/events?token={token}")
    assert stream.status == 200
    stream.next_of("unread")  # set up: subscribed
    return stream




def test_metrics_unknown_without_a_token(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app(app_config(redis_server.url)).test_client()
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN}x", "Bearer "])
def test_metrics_refused_without_the_right_token(redis_server, redis_client, tmp_path,
                                                 monkeypatch, header):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app(app_config(redis_server.url, METRICS_TOKEN=TOKEN)).test_client()
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert "Set-Cookie" not in response.headers
    assert b"notifier_" not in response.data


def test_metrics_served_with_the_token_in_process(redis_server, redis_client, tmp_path,
                                                  monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app(app_config(redis_server.url, METRICS_TOKEN=TOKEN)).test_client()
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"notifier_sends", "notifier_open_streams", "notifier_delivery_queue_jobs",
            "notifier_delivery_oldest_job_age_seconds"} <= names
    assert "Set-Cookie" not in response.headers


def in_process_samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def test_scheduled_sends_and_the_schedulers_lag_are_measured(redis_server, redis_client,
                                                             tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    # A prefix of its own: no live server's scheduler may run the send first.
    app = create_app(app_config(redis_server.url, METRICS_TOKEN=TOKEN, KEY_PREFIX="lag"))
    client = app.test_client()
    with app.app_context():
        key = backend().api_keys.create("tests")[1]
    before = in_process_samples(client)
    send_at = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    response = client.post("/api/v1/notifications", headers={"Authorization": f"Bearer {key}"},
                           json={"user_id": "dora", "title": "later", "send_at": send_at})
    assert response.status_code == 202
    time.sleep(0.5)
    Runner(app).run_due()
    after = in_process_samples(client)
    assert value(after, "notifier_sends_total", route="send_notification",
                 outcome="scheduled") == value(before, "notifier_sends_total",
                                               route="send_notification",
                                               outcome="scheduled") + 1
    ran = (value(after, "notifier_scheduler_lag_seconds_count")
           - value(before, "notifier_scheduler_lag_seconds_count"))
    lag = (value(after, "notifier_scheduler_lag_seconds_sum")
           - value(before, "notifier_scheduler_lag_seconds_sum"))
    assert ran == 1
    assert 0.1 <= lag < 5, lag


def test_the_master_clears_only_gone_processes_files(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder = tmp_path / "metrics"
    folder.mkdir()
    for name in (f"counter_{gone.pid}.db", f"gauge_livesum_{gone.pid}.db",
                 f"counter_{os.getpid()}.db", "notes.txt"):
        (folder / name).write_bytes(b"")
    prepare_multiprocess_dir(str(folder))
    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{os.getpid()}.db",
                                                         "notes.txt"]
    assert pid_of("gauge_livesum_42.db") == 42 and pid_of("counter_x.db") is None


def exposed_names(client) -> set[str]:
    """Every sample name ``/metrics`` can show (``_total``, ``_bucket``... included)."""
    response = client.get("/metrics", headers=SCRAPE)
    names = set()
    for family in text_string_to_metric_families(response.text):
        names.add(family.name)
        names |= {f"{family.name}{suffix}" for suffix in
                  ("_total", "_bucket", "_count", "_sum", "_created")}
    return {name for name in names if name.startswith("notifier_")}


def test_the_docs_and_the_dashboard_name_real_metrics(redis_server, redis_client, tmp_path,
                                                      monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app(app_config(redis_server.url, METRICS_TOKEN=TOKEN)).test_client()
    exposed = exposed_names(client)
    dashboard = (ROOT / "docs" / "grafana-dashboard.json").read_text()
    queried = {name for panel in json.loads(dashboard)["panels"]
               for target in panel["targets"]
               for name in re.findall(r"notifier_\w+", target["expr"])}
    assert queried and queried <= exposed, queried - exposed
    documented = set(re.findall(r"^\| `(notifier_\w+)`", (ROOT / "docs" / "deployment.md")
                                .read_text(), re.MULTILINE))
    families = {family.name if family.type != "counter" else f"{family.name}_total"
                for family in text_string_to_metric_families(
                    client.get("/metrics", headers=SCRAPE).text)
                if family.name.startswith("notifier_")
                and not family.name.endswith("_created")}  # one process's start times
    assert documented == families


def test_send_outcomes():
    assert send_outcome(201, False) == "created"
    assert send_outcome(201, True) == "duplicate"
    assert send_outcome(202, False) == "scheduled"
    assert send_outcome(422, False) == "4xx"
    assert send_outcome(429, False) == "4xx"
    assert send_outcome(503, False) == "5xx"
    assert send_outcome(302, False) is None


def test_an_earlier_runs_files_are_cleared_when_the_server_starts(server):
    assert value(scrape(server), "notifier_sends_total", route="send_notification",
                 outcome="created") < 1000


def test_sends_are_counted_over_both_workers(server, api_key):
    before = scrape(server)
    created = 24
    with fresh(server, headers={"Authorization": f"Bearer {api_key}"}) as api:
        for i in range(created):
            response = api.post("/api/v1/notifications", json={"user_id": "bob", "title": f"{i}"})
            assert response.status_code == 201
        body = {"user_id": "bob", "title": "once", "idempotency_key": "k-1"}
        assert api.post("/api/v1/notifications", json=body).status_code == 201
        replay = api.post("/api/v1/notifications", json=body)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert api.post("/api/v1/notifications", json={"user_id": "bob"}).status_code == 422
        batch = api.post("/api/v1/notifications/batch",
                         json={"notifications": [{"user_id": "bob", "title": "b"}]})
        assert batch.status_code == 201
    after = scrape(server)

    def delta(route, outcome):
        return (value(after, "notifier_sends_total", route=route, outcome=outcome)
                - value(before, "notifier_sends_total", route=route, outcome=outcome))

    assert delta("send_notification", "created") == created + 1
    assert delta("send_notification", "duplicate") == 1
    assert delta("send_notification", "4xx") == 1
    assert delta("send_batch", "created") == 1
    # Both workers wrote metric files, and the scrape added them up.
    pids = {int(m.group(1)) for name in os.listdir(server.metrics_dir)
            if (m := re.match(r"counter_(\d+)\.db$", name))}
    assert len(pids & server.worker_pids()) == 2, pids


def open_gauge(server) -> float:
    return value(scrape(server), "notifier_open_streams")


def test_open_streams_are_counted_while_open(server):
    baseline = wait_for(lambda: open_gauge(server) if open_gauge(server) == 0 else None,
                        what="no open streams")
    streams = [open_stream(server, f"watcher-{i}") for i in range(4)]
    try:
        assert open_gauge(server) == baseline + 4
        subscriptions = value(scrape(server), "notifier_hub_subscriptions")
        assert subscriptions == 4
    finally:
        for stream in streams:
            stream.close()
    wait_for(lambda: True if open_gauge(server) == baseline else None,
             what="closed streams leaving the gauge")


def test_live_events_and_reports_are_timed(server, api_key):
    before = scrape(server)
    stream = open_stream(server, "timed")
    try:
        with fresh(server, headers={"Authorization": f"Bearer {api_key}"}) as api:
            for i in range(3):
                assert api.post("/api/v1/notifications",
                                json={"user_id": "timed", "title": f"{i}"}).status_code == 201
                stream.next_of("notification")
    finally:
        stream.close()
    after = scrape(server)
    timed = (value(after, "notifier_send_to_event_seconds_count")
             - value(before, "notifier_send_to_event_seconds_count"))
    assert timed == 3  # once each, by the one worker holding the user's stream
    assert value(after, "notifier_send_to_event_seconds_bucket", le="+Inf") >= 3
    assert value(after, "notifier_send_to_event_seconds_sum") < 3 * 5
    time.sleep(1.2)  # each worker reports once a second
    assert value(scrape(server), "notifier_redis_report_seconds_count") > \
        value(before, "notifier_redis_report_seconds_count")


def test_hub_reconnects_are_counted(server, redis_client):
    before = value(scrape(server), "notifier_hub_reconnects_total")
    hubs = [client for client in redis_client.client_list()
            if client["name"] in {f"notifier-hub:{pid}" for pid in server.worker_pids()}]
    assert len(hubs) == 2, hubs
    for client in hubs:
        redis_client.client_kill(client["addr"])
    wait_for(lambda: True if value(scrape(server), "notifier_hub_reconnects_total")
             == before + 2 else None, what="both hubs to reconnect")


def test_a_stream_that_stops_reading_is_counted_when_dropped(server, api_key):
    before = value(scrape(server), "notifier_slow_consumer_drops_total")
    token = tokens.mint("test-secret", "stalled", 300)[0]
    stream = SSEStream(server.url, f"/events?token={token}", receive_buffer=4096)
    try:
        stream.next_of("unread")
        batch = {"notifications": [{"user_id": "stalled", "title": f"n{i}", "body": "b" * 2000,
                                    "data": {"pad": "d" * 8000}} for i in range(100)]}
        with fresh(server, headers={"Authorization": f"Bearer {api_key}"}) as api:
            for _ in range(10):  # ~1 MB a batch, never read: the socket fills, then the queue
                assert api.post("/api/v1/notifications/batch", json=batch).status_code == 201
                if value(scrape(server), "notifier_slow_consumer_drops_total") > before:
                    break
        assert value(scrape(server), "notifier_slow_consumer_drops_total") == before + 1
    finally:
        stream.close()


def test_a_killed_workers_streams_leave_the_gauge(server):
    wait_for(lambda: True if open_gauge(server) == 0 else None, what="no open streams")
    streams = [open_stream(server, f"victim-{i}") for i in range(6)]
    holders = {server.worker_of(stream) for stream in streams}
    victim = holders.pop() if len(holders) == 1 else sorted(holders)[0]
    held = sum(server.worker_of(stream) == victim for stream in streams)
    assert open_gauge(server) == 6
    os.kill(victim, signal.SIGKILL)
    try:
        # gunicorn reaps it (child_exit) and boots another; the killed worker's streams,
        # which it never closed, stop counting.
        wait_for(lambda: True if len(server.worker_pids() - {victim}) == 2 else None,
                 what="a new worker")
        wait_for(lambda: True if open_gauge(server) == 6 - held else None, timeout=15,
                 what=f"the gauge to drop the killed worker's {held} streams")
    finally:
        for stream in streams:
            stream.close()
    wait_for(lambda: True if open_gauge(server) == 0 else None, what="no open streams")


@pytest.fixture
def sms_peer():
    provider = SmsProvider()
    yield provider
    provider.stop()


def test_delivery_workers_and_the_queue_are_measured(server, redis_server, redis_client,
                                                     sms_peer, tmp_path):
    queue = DeliveryQueue(redis_client, Keys(TEST_PREFIX))
    before = scrape(server)
    phone = "+15550001234"
    redis_client.hset(Keys(TEST_PREFIX).preferences("carol"), "phone", phone)
    sms_peer.script(phone, Answer(500), Answer(400))
    for i in range(2):  # one is retried then accepted, the other refused for good
        queue.enqueue("carol", {"id": f"{1_700_000_000_000 + i}-0", "user_id": "carol",
                                "title": f"code {i}"}, "sms")
    time.sleep(1.1)
    waiting = scrape(server)
    assert value(waiting, "notifier_delivery_queue_jobs", state="queued") == 2
    assert value(waiting, "notifier_delivery_oldest_job_age_seconds") >= 1.0

    log = ARTIFACTS / f"metrics-worker-{os.getpid()}.log"
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "notifier"), "worker"], stdout=log.open("w"),
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={
            **os.environ, **live_env(redis_server.url, tmp_path), **sms_peer.env(),
            "PROMETHEUS_MULTIPROC_DIR": str(server.metrics_dir),
            "NOTIFIER_DELIVERY_RETRY_DELAYS": "[0.2]", "NOTIFIER_DELIVERY_POLL": "0.05",
            "NOTIFIER_BUDGET_SMS": ""})
    try:
        wait_for(lambda: True if sms_peer.accepted_for(phone) and queue.counts() == {
            "queued": 0, "pending": 0, "retrying": 0, "held": 0, "dead": 1} else None,
            timeout=20, what="one job delivered and one dead-lettered")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    after = scrape(server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("notifier_delivery_jobs_total", channel="sms", outcome="ack") == 1
    assert delta("notifier_delivery_jobs_total", channel="sms", outcome="retry") == 1
    assert delta("notifier_delivery_jobs_total", channel="sms", outcome="dead") == 1
    assert delta("notifier_delivery_attempts_total", channel="sms", status="accepted") == 1
    assert delta("notifier_delivery_attempts_total", channel="sms", status="retry") == 1
    assert delta("notifier_delivery_attempts_total", channel="sms", status="failed") == 1
    assert value(after, "notifier_delivery_queue_jobs", state="dead") == 1
    assert value(after, "notifier_delivery_oldest_job_age_seconds") == 0
