"""Sender limits per API key (Flask-Limiter, counters in Redis)."""

import time

import pytest

from notifier import create_app
from notifier.backend import backend

from conftest import app_config


@pytest.fixture
def limited(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, API_RATE_LIMIT="5 per hour"))
    with app.app_context():
        keys = [backend().api_keys.create(name)[1] for name in ("first", "second")]
    return app.test_client(), [{"Authorization": f"Bearer {k}"} for k in keys]


def test_exactly_the_limit_passes_and_the_next_call_is_a_429(limited):
    client, (first, second) = limited
    calls = ["/api/v1/users/u/unread-count", "/api/v1/users/u/preferences"]
    for i in range(5):  # one budget across every route of the API
        assert client.get(calls[i % 2], headers=first).status_code == 200
    over = client.post("/api/v1/notifications", headers=first,
                       json={"user_id": "u", "title": "one too many"})
    assert over.status_code == 429
    assert over.json["error"]["code"] == "rate_limited"
    assert 3500 <= int(over.headers["Retry-After"]) <= 3600
    assert client.get("/api/v1/users/u/notifications", headers=first).status_code == 429
    # Nothing of the refused send was stored.
    assert client.get("/api/v1/users/u/unread-count", headers=second).json["unread"] == 0
    # Another key has its own budget; the document and bad keys spend none.
    for _ in range(4):
        assert client.get("/api/v1/users/u/unread-count", headers=second).status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    bad = {"Authorization": "Bearer nk_0000000000000000_nope"}
    assert client.get("/api/v1/users/u/unread-count", headers=bad).status_code == 401
    assert client.get("/api/v1/users/u/unread-count", headers=second).status_code == 429


def test_an_empty_limit_turns_it_off(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, API_RATE_LIMIT=""))
    with app.app_context():
        auth = {"Authorization": f"Bearer {backend().api_keys.create('k')[1]}"}
    client = app.test_client()
    assert all(client.get("/api/v1/users/u/unread-count", headers=auth).status_code == 200
               for _ in range(30))


def test_retry_after_is_when_the_window_lets_the_next_call_through(
        redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, API_RATE_LIMIT="3 per 2 seconds"))
    with app.app_context():
        auth = {"Authorization": f"Bearer {backend().api_keys.create('k')[1]}"}
    client = app.test_client()
    statuses = [client.get("/api/v1/users/u/unread-count", headers=auth).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    over = client.get("/api/v1/users/u/unread-count", headers=auth)
    wait = int(over.headers["Retry-After"])
    assert over.status_code == 429 and 1 <= wait <= 2
    time.sleep(wait)
    assert client.get("/api/v1/users/u/unread-count", headers=auth).status_code == 200


def test_sends_spend_the_same_budget_as_every_other_call(
        redis_server, redis_client, tmp_path, monkeypatch):
    """A send spends its call inside its own script; a refused body spends one too."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, API_RATE_LIMIT="4 per hour"))
    with app.app_context():
        auth = {"Authorization": f"Bearer {backend().api_keys.create('k')[1]}"}
    client = app.test_client()
    assert client.post("/api/v1/notifications", headers=auth,
                       json={"user_id": "spender", "title": "one"}).status_code == 201
    assert client.post("/api/v1/notifications/batch", headers=auth, json={
        "notifications": [{"user_id": "spender", "title": "two"}]}).status_code == 201
    assert client.post("/api/v1/notifications", headers=auth,
                       json={"user_id": "spender"}).status_code == 422
    assert client.get("/api/v1/users/spender/unread-count",
                      headers=auth).json["unread"] == 2
    refused = client.post("/api/v1/notifications", headers=auth,
                          json={"user_id": "spender", "title": "five"})
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert client.get("/api/v1/users/spender/unread-count", headers=auth).status_code == 429
    assert redis_client.xlen(backend_inbox_key(app, "spender")) == 2


def backend_inbox_key(app, user_id: str) -> str:
    with app.app_context():
        return backend().keys.inbox(user_id)


@pytest.mark.single_redis  # on a cluster Flask-Limiter spends the budget before the view
def test_a_refused_send_spends_nothing_in_any_of_several_limits(
        redis_server, redis_client, tmp_path, monkeypatch):
    from notifier.api.limiter import api_limits

    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url,
                                API_RATE_LIMIT="3 per 20 seconds; 100 per hour"))
    with app.app_context():
        key = backend().api_keys.create("k")
        auth = {"Authorization": f"Bearer {key[1]}"}
        windows = {limit.amount: limit.key for limit in api_limits(key[0].key_id)}
    client = app.test_client()
    statuses = [client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "several", "title": f"n{n}"}).status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert redis_client.llen(windows[3]) == 3
    assert redis_client.llen(windows[100]) == 3  # the refused sends spent no hour budget
