"""Redis Cluster specifics, each on a private local cluster (3 masters, 3 replicas) that a
test may break: sends spread over every shard, a master killed mid-stream of sends, a
slot migrated under open streams, scripts flushed, and sharded Pub/Sub staying on its
shard. The rest of the suite runs on a cluster in its second pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis
from sse_client import Follower

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import PARTITIONS, Keys
from notifier.delivery.queue import DeliveryQueue
from notifier.stores.connection import connect
from notifier.stores.local_cluster import LocalCluster

from conftest import TEST_PREFIX, LiveServer, app_config, flush, live_env
from peers.sms_provider import SmsProvider

KEYS = Keys(TEST_PREFIX)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    local = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield local
    local.stop()


@pytest.fixture
def cluster_client(cluster):
    client = connect(cluster.url, pool_size=8, client_name="tests")
    flush(client)
    yield client
    client.close()


@pytest.fixture
def cluster_app(cluster, cluster_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    # No rate limit: its counters could land on a master a test blocks.
    app = create_app(app_config(cluster.url, API_RATE_LIMIT=""))
    with app.app_context():
        key = backend().api_keys.create("tests")[1]
    return app, {"Authorization": f"Bearer {key}"}


def users_on_every_master(client: redis.RedisCluster, count: int = 3) -> list[str]:
    """``count`` user ids per master, so a send to all of them touches every shard."""
    found: dict[str, list[str]] = {}
    number = 0
    while len(found) < 3 or min(len(users) for users in found.values()) < count:
        user = f"spread{number}"
        node = client.get_node_from_key(KEYS.inbox(user)).name
        if len(found.setdefault(node, [])) < count:
            found[node].append(user)
        number += 1
    return [user for users in found.values() for user in users]


def sent_ids(response) -> list[str]:
    return [sent["id"] for sent in response.json["notifications"]]


def inbox_ids(client, user: str) -> list[str]:
    return [entry_id.decode() for entry_id, _ in client.xrange(KEYS.inbox(user))]


def test_a_send_to_users_on_every_shard_stores_one_each(cluster_app, cluster_client):
    app, auth = cluster_app
    users = users_on_every_master(cluster_client)
    http = app.test_client()
    response = http.post("/api/v1/notifications", headers=auth,
                         json={"user_ids": users, "title": "everywhere"})
    assert response.status_code == 201, response.text
    ids = sent_ids(response)
    assert len(ids) == len(users)
    for user, nid in zip(users, ids, strict=True):
        assert inbox_ids(cluster_client, user) == [nid]
        assert cluster_client.zcard(KEYS.unread(user)) == 1
    # The same request again is a replay: the same ids, nothing stored twice.
    batch = {"notifications": [{"user_id": u, "title": f"to {u}"} for u in users],
             "idempotency_key": "spread-1"}
    first = http.post("/api/v1/notifications/batch", headers=auth, json=batch)
    again = http.post("/api/v1/notifications/batch", headers=auth, json=batch)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert sent_ids(again) == sent_ids(first)
    assert all(len(inbox_ids(cluster_client, u)) == 2 for u in users)
    # Another request under the key is refused.
    batch["notifications"][0]["title"] = "changed"
    refused = http.post("/api/v1/notifications/batch", headers=auth, json=batch)
    assert refused.status_code == 422 and refused.json["error"]["field"] == "idempotency_key"


def test_a_retry_after_a_partial_send_completes_only_the_missing_recipients(
        cluster_app, cluster_client):
    """A shard refuses writes for a moment (its recipients are not stored, the send
    answers 503); the retry with the same key stores exactly those and returns every id."""
    app, auth = cluster_app
    users = users_on_every_master(cluster_client, count=2)
    body = {"user_ids": users, "title": "partial", "idempotency_key": "partial-1"}
    http = app.test_client()
    # Warm up: the key is verified (and cached), the type recorded; then block a
    # master that holds neither.
    assert http.post("/api/v1/notifications", headers=auth,
                     json={"user_id": "warm", "title": "partial"}).status_code == 201
    key_id = auth["Authorization"].split("_")[1]
    busy = {cluster_client.get_node_from_key(name).name
            for name in (KEYS.api_key(key_id), KEYS.known_types())}
    blocked = next(node for node in cluster_client.get_primaries() if node.name not in busy)
    node = cluster_client.get_redis_connection(blocked)
    node.config_set("min-replicas-to-write", 5)  # this master refuses writes now
    try:
        failed = http.post("/api/v1/notifications", headers=auth, json=body)
    finally:
        node.config_set("min-replicas-to-write", 0)
    assert failed.status_code == 503, failed.text
    stored = {u: inbox_ids(cluster_client, u) for u in users}
    on_blocked = [u for u in users
                  if cluster_client.get_node_from_key(KEYS.inbox(u)).name == blocked.name]
    assert all(stored[u] == [] for u in on_blocked)
    assert all(len(stored[u]) == 1 for u in users if u not in on_blocked)
    retried = http.post("/api/v1/notifications", headers=auth, json=body)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers  # some were stored only now
    for user, nid in zip(users, sent_ids(retried), strict=True):
        assert inbox_ids(cluster_client, user) == [nid]
        if user not in on_blocked:
            assert stored[user] == [nid]  # kept, not sent again


def test_sends_publish_only_on_their_shard(cluster_app, cluster_client):
    """Sharded Pub/Sub: sends and broadcasts cross no cluster bus (PUBLISH would be
    relayed to every node)."""
    app, auth = cluster_app

    def relayed() -> int:
        total = 0
        for info in cluster_client.cluster_info(target_nodes=cluster_client.ALL_NODES).values():
            total += int(info.get("cluster_stats_messages_publish_sent", 0))
        return total

    before = relayed()
    http = app.test_client()
    users = users_on_every_master(cluster_client)
    for i in range(20):
        assert http.post("/api/v1/notifications", headers=auth,
                         json={"user_ids": users, "title": f"n{i}"}).status_code == 201
    assert http.post("/api/v1/broadcasts", headers=auth,
                     json={"title": "to all"}).status_code == 201
    assert relayed() == before


def test_a_flushed_script_cache_is_reloaded(cluster_app, cluster_client):
    app, auth = cluster_app
    http = app.test_client()
    users = users_on_every_master(cluster_client, count=1)
    assert http.post("/api/v1/notifications", headers=auth,
                     json={"user_ids": users, "title": "before"}).status_code == 201
    for node in cluster_client.get_primaries():
        cluster_client.get_redis_connection(node).script_flush()
    answers = [http.post("/api/v1/notifications", headers=auth,
                         json={"user_ids": users, "title": "after"}).status_code
               for _ in range(3)]
    # A call answered NOSCRIPT did not run: it runs again once the scripts are loaded.
    assert answers == [201, 201, 201]
    assert all(len(inbox_ids(cluster_client, u)) == 4 for u in users)


# -- live: app servers on the cluster ------------------------------------------

def run_servers(url: str, tmp_path, count: int, workers: int = 2) -> list[LiveServer]:
    """``count`` app nodes on the same Redis, each with its own instance folder."""
    return [LiveServer({**live_env(url, tmp_path / f"node{n}"),
                        "NOTIFIER_API_RATE_LIMIT": "", "NOTIFIER_SSE_HUB_PING": "0.5"},
                       workers=workers) for n in range(count)]


def api_key_for(url: str, tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "keys"))
    with create_app(app_config(url)).app_context():
        return {"Authorization": f"Bearer {backend().api_keys.create('tests')[1]}"}


def test_a_send_through_one_node_reaches_a_stream_on_another(
        cluster, cluster_client, tmp_path, monkeypatch):
    auth = api_key_for(cluster.url, tmp_path, monkeypatch)
    node_a, node_b = run_servers(cluster.url, tmp_path, 2, workers=1)
    try:
        users = users_on_every_master(cluster_client, count=1)
        followers = [Follower([node_a], user) for user in users]
        for follower in followers:
            follower.start()
        assert all(f.ready.wait(15) for f in followers)
        with httpx.Client(base_url=node_b.url, headers=auth) as http:
            sent = http.post("/api/v1/notifications", json={"user_ids": users, "title": "B"})
            assert sent.status_code == 201, sent.text
        ids = [n["id"] for n in sent.json()["notifications"]]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and [f.ids for f in followers] != [[i] for i in ids]:
            time.sleep(0.05)
        assert [f.ids for f in followers] == [[i] for i in ids]
        # Presence covers both nodes: B tells of the users whose streams A holds.
        with httpx.Client(base_url=node_b.url, headers=auth) as http:
            deadline = time.monotonic() + 10
            while True:
                online = {u["user_id"] for u in http.get("/api/v1/presence").json()["users"]}
                if set(users) <= online or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        assert set(users) <= online
    finally:
        for follower in followers:
            follower.done.set()
        for server in (node_a, node_b):
            server.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster this test may break (a master killed)."""
    local = LocalCluster(tmp_path / "cluster").start()
    yield local
    local.stop()


def test_a_master_killed_during_sends_loses_nothing_and_retries_complete(
        own_cluster, tmp_path, monkeypatch):
    """Multi-user sends stream in while a master is SIGKILLed: after the failover every
    acknowledged send is in every recipient's inbox, once, and reached their streams
    (live or on replay); sends that failed complete when retried with their key."""
    client = connect(own_cluster.url, pool_size=8, client_name="tests")
    auth = api_key_for(own_cluster.url, tmp_path, monkeypatch)
    servers = run_servers(own_cluster.url, tmp_path, 1)
    users = users_on_every_master(client, count=2)
    followers = [Follower(servers, user) for user in users]
    for follower in followers:
        follower.start()
    assert all(f.ready.wait(15) for f in followers)
    acknowledged: dict[str, list[str]] = {}  # idempotency key -> ids in user order
    failures = Counter()
    victim = next(node for node in client.get_primaries()
                  if node.name != client.get_node_from_key(KEYS.api_keys()).name)
    try:
        with httpx.Client(base_url=servers[0].url, headers=auth, timeout=10) as http:
            for number in range(120):
                if number == 30:
                    own_cluster.stop_node(victim.port)
                key = f"send-{number}"
                body = {"user_ids": users, "title": f"n{number}", "idempotency_key": key}
                deadline = time.monotonic() + 30
                while True:  # what a client with retries does
                    answer = http.post("/api/v1/notifications", json=body)
                    if answer.status_code == 201:
                        acknowledged[key] = [n["id"] for n in answer.json()["notifications"]]
                        break
                    assert answer.status_code == 503, answer.text
                    failures[key] += 1
                    assert time.monotonic() < deadline, "the cluster did not recover"
                    time.sleep(0.2)
                time.sleep(0.01)
        assert failures, "the failover should have failed some sends"
        expected = {user: [ids[i] for ids in acknowledged.values()]
                    for i, user in enumerate(users)}
        for user in users:
            assert inbox_ids(client, user) == expected[user]  # each once, in order
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                f.ids != expected[f.user] for f in followers):
            time.sleep(0.1)
        for follower in followers:
            assert follower.ids == expected[follower.user], follower.user
    finally:
        for follower in followers:
            follower.done.set()
        for server in servers:
            server.stop()
        client.close()


def test_readyz_asks_every_master(own_cluster, tmp_path):
    """/readyz asks every master: with one killed it names Redis unreachable on every
    request, and once the replica has taken over it is ready again."""
    client = connect(own_cluster.url, pool_size=4, client_name="tests")
    [server] = run_servers(own_cluster.url, tmp_path, 1, workers=1)
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            deadline = time.monotonic() + 30
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.1)
            own_cluster.stop_node(client.get_primaries()[0].port)
            # Asked before the failover (about 2.4 s with a node timeout of 1 s).
            answers = [http.get("/readyz") for _ in range(3)]
            assert [a.status_code for a in answers] == [503] * 3
            assert all(a.json()["checks"]["redis"] == "unreachable" for a in answers)
            deadline = time.monotonic() + 30
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "not ready after the failover"
                time.sleep(0.2)
    finally:
        server.stop()
        client.close()


def test_a_worker_delivers_the_jobs_of_every_partition(cluster, cluster_client, tmp_path):
    """Jobs queued for users in all 16 delivery partitions, whose streams are spread over
    every master, are all delivered by one ``notifier worker``, each once."""
    users: dict[int, str] = {}
    number = 0
    while len(users) < PARTITIONS:
        users.setdefault(KEYS.delivery_partition(f"q{number}"), f"q{number}")
        number += 1
    masters = {cluster_client.get_node_from_key(KEYS.delivery_jobs(part)).name
               for part in users}
    assert len(masters) == 3
    phones = {}
    for part, user in users.items():
        phones[user] = f"+1555111{part:04d}"
        cluster_client.hset(KEYS.preferences(user), "phone", phones[user])
    queue = DeliveryQueue(cluster_client, KEYS)
    for round_ in range(2):
        for user in users.values():
            queue.enqueue(user, {"id": f"{1_700_000_000_000 + round_}-0", "user_id": user,
                                 "title": f"{user} #{round_}"}, "sms")
    peer = SmsProvider()
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "notifier"), "worker"], stdout=log.open("w"),
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **live_env(cluster.url, tmp_path / "instance"), **peer.env(),
             "NOTIFIER_DELIVERY_POLL": "0.05", "NOTIFIER_BUDGET_SMS": ""})
    try:
        deadline = time.monotonic() + 30
        while any(len(peer.accepted_for(phone)) < 2 for phone in phones.values()):
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        for user, phone in phones.items():
            assert sorted(sms.body for sms in peer.accepted_for(phone)) == [
                f"{user} #0", f"{user} #1"]
        empty = {"queued": 0, "pending": 0, "retrying": 0, "held": 0, "dead": 0}
        while queue.counts() != empty:  # a job is acknowledged just after its send
            assert time.monotonic() < deadline, (queue.counts(), log.read_text())
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        peer.stop()


def migrate_slot(client: redis.RedisCluster, slot: int, target: redis.cluster.ClusterNode,
                 pause: float = 0.0) -> None:
    """Move ``slot`` to ``target`` the way ``redis-cli --cluster reshard`` does: keys a
    few at a time (with ``pause`` between batches), then the slot itself."""
    source = client.nodes_manager.slots_cache[slot][0]
    src, dst = client.get_redis_connection(source), client.get_redis_connection(target)
    src_id, dst_id = (node.execute_command("CLUSTER MYID").decode()
                      if isinstance(node.execute_command("CLUSTER MYID"), bytes)
                      else node.execute_command("CLUSTER MYID") for node in (src, dst))
    dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
    while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 2):
        src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
        time.sleep(pause)
    for node in client.get_primaries():
        client.get_redis_connection(node).execute_command("CLUSTER SETSLOT", slot, "NODE",
                                                          dst_id)


def test_streams_follow_a_slot_migrated_under_them(own_cluster, tmp_path, monkeypatch):
    """A user's slot moves to another master while their stream is open and sends keep
    coming: the stream gets every notification once, in order."""
    client = connect(own_cluster.url, pool_size=8, client_name="tests")
    auth = api_key_for(own_cluster.url, tmp_path, monkeypatch)
    servers = run_servers(own_cluster.url, tmp_path, 1)
    user = "migrant"
    slot = client.keyslot(KEYS.inbox(user))
    follower = Follower(servers, user)
    follower.start()
    assert follower.ready.wait(15)
    sent: list[str] = []
    target = next(node for node in client.get_primaries()
                  if node.name != client.get_node_from_key(KEYS.inbox(user)).name)
    try:
        with httpx.Client(base_url=servers[0].url, headers=auth, timeout=10) as http:
            for number in range(60):
                if number == 20:
                    mover = threading.Thread(target=migrate_slot,
                                             args=(client, slot, target, 0.05))
                    mover.start()
                answer = http.post("/api/v1/notifications",
                                   json={"user_id": user, "title": f"n{number}"})
                assert answer.status_code == 201, answer.text
                sent.append(answer.json()["notifications"][0]["id"])
                time.sleep(0.02)
            mover.join(timeout=30)
        client.nodes_manager.initialize()
        assert client.get_node_from_key(KEYS.inbox(user)).name == target.name
        assert inbox_ids(client, user) == sent
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and follower.ids != sent:
            time.sleep(0.1)
        assert follower.ids == sent
        # The hub followed the channel to its new master (Redis unsubscribed it on the old).
        channel = KEYS.user_channel(user)
        numsub = client.get_redis_connection(target).execute_command(
            "PUBSUB", "SHARDNUMSUB", channel)
        assert int(numsub[1]) == 1
    finally:
        follower.done.set()
        for server in servers:
            server.stop()
        client.close()


def test_a_silently_dead_subscription_is_caught_by_the_probe(cluster, cluster_client):
    """The hub's probe on each shard notices a subscription that stopped delivering
    while PING still works; the stream gets what it missed (see hub_scenarios.py)."""
    script = Path(__file__).with_name("hub_scenarios.py")
    result = subprocess.run([sys.executable, str(script), cluster.url, "silent_subscription"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["reconnects"] >= 1
    assert outcome["got"] == outcome["sent"]
