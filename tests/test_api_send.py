"""Sending through the API: single, many users, batch, idempotency, errors."""

import json

import pytest

from notifier import create_app
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, all_keys, app_config

KEYS = Keys(TEST_PREFIX)


def send(client, auth, body, path="/api/v1/notifications"):
    return client.post(path, data=json.dumps(body), headers=auth)


def user_keys(redis_client) -> list:
    return all_keys(redis_client, f"{TEST_PREFIX}:{{u:*")


def stored(redis_client, user_id) -> int:
    return redis_client.xlen(KEYS.inbox(user_id))


def test_send_one(client, auth, redis_client):
    response = send(client, auth, {"user_id": "u1", "title": "Hello", "data": {"k": [1, 2]}})
    assert response.status_code == 201
    [sent] = response.json["notifications"]
    assert sent["user_id"] == "u1"
    entries = redis_client.xrange(KEYS.inbox("u1"))
    assert [e[0].decode() for e in entries] == [sent["id"]]
    payload = json.loads(entries[0][1][b"n"])
    assert payload["title"] == "Hello" and payload["data"] == {"k": [1, 2]}


def test_send_to_many_users_stores_one_each(client, auth, redis_client):
    users = [f"user{i}" for i in range(300)]
    response = send(client, auth, {"user_ids": [*users, "user0"], "title": "Release"})
    assert response.status_code == 201
    assert [n["user_id"] for n in response.json["notifications"]] == users
    assert all(stored(redis_client, u) == 1 for u in users)


def test_one_bad_recipient_stores_for_nobody(client, auth, redis_client):
    response = send(client, auth, {"user_ids": ["ok1", "ok2", "bad id"], "title": "x"})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "user_ids[2]"
    assert user_keys(redis_client) == []


def test_batch_returns_ids_in_request_order(client, auth, redis_client):
    items = [{"user_id": f"u{i % 7}", "title": f"n{i}", "priority": "low"} for i in range(700)]
    response = send(client, auth, {"notifications": items}, "/api/v1/notifications/batch")
    assert response.status_code == 201
    result = response.json["notifications"]
    assert [r["user_id"] for r in result] == [i["user_id"] for i in items]
    for position in (0, 350, 699):
        entry = redis_client.xrange(KEYS.inbox(result[position]["user_id"]),
                                    result[position]["id"], result[position]["id"])
        assert json.loads(entry[0][1][b"n"])["title"] == f"n{position}"


def test_bad_batch_item_stores_nothing(client, auth, redis_client):
    items = [{"user_id": f"u{i}", "title": "t"} for i in range(1000)]
    items[500]["priority"] = "extreme"
    response = send(client, auth, {"notifications": items}, "/api/v1/notifications/batch")
    assert response.status_code == 422
    assert response.json["error"]["field"] == "notifications[500].priority"
    assert user_keys(redis_client) == []


def test_batch_limits(client, auth):
    items = [{"user_id": "u", "title": "t"} for _ in range(1001)]
    response = send(client, auth, {"notifications": items}, "/api/v1/notifications/batch")
    assert response.status_code == 422 and response.json["error"]["field"] == "notifications"
    empty = send(client, auth, {"notifications": []}, "/api/v1/notifications/batch")
    assert empty.status_code == 422


def test_body_limit_is_413_but_batch_may_be_larger(client, auth):
    big = {"user_id": "u", "title": "t", "data": {"k": "v" * 70_000}}
    response = send(client, auth, big)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"
    size = len(json.dumps(big))
    assert response.json["error"]["message"] == (
        f"The body is {size} bytes; this route takes at most {64 * 1024} bytes.")
    items = [{"user_id": f"u{i}", "title": "t" * 150} for i in range(1000)]
    response = send(client, auth, {"notifications": items}, "/api/v1/notifications/batch")
    assert response.status_code == 201


def test_idempotent_repeat_returns_first_ids_and_stores_nothing(client, auth, redis_client):
    body = {"user_ids": ["a", "b"], "title": "Once", "idempotency_key": "order-1234"}
    first = send(client, auth, body)
    again = send(client, auth, body)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert stored(redis_client, "a") == stored(redis_client, "b") == 1


def test_idempotency_key_with_other_body_is_refused(client, auth, redis_client):
    send(client, auth, {"user_id": "a", "title": "One", "idempotency_key": "k"})
    response = send(client, auth, {"user_id": "a", "title": "Two", "idempotency_key": "k"})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "idempotency_key"
    assert stored(redis_client, "a") == 1


def test_idempotency_keys_are_per_api_key(client, auth, store, redis_client):
    other = {"Authorization": f"Bearer {store.api_keys.create('other')[1]}"}
    send(client, auth, {"user_id": "a", "title": "t", "idempotency_key": "k"})
    response = send(client, other, {"user_id": "a", "title": "t", "idempotency_key": "k"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert stored(redis_client, "a") == 2


def test_batch_idempotency(client, auth, redis_client):
    body = {"notifications": [{"user_id": "a", "title": "1"}, {"user_id": "a", "title": "2"}],
            "idempotency_key": "batch-9"}
    first = send(client, auth, body, "/api/v1/notifications/batch")
    again = send(client, auth, body, "/api/v1/notifications/batch")
    assert again.json == first.json and stored(redis_client, "a") == 2
    key_id = redis_client.zrange(KEYS.api_keys(), 0, 0)[0].decode()
    for index in (0, 1):  # each delivery keeps its own marker, in its recipient's slot
        ttl = redis_client.ttl(KEYS.sent_marker("a", key_id, "batch-9", index))
        assert 86000 < ttl <= 86400


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer nk_bad",
                                    "Bearer nk_0123456789abcdef_" + "x" * 43])
def test_missing_or_bad_key_is_401(client, header, redis_client):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/notifications", data='{"user_id":"u","title":"t"}',
                           headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert user_keys(redis_client) == []


def test_revoked_key_is_401(client, store):
    key, secret = store.api_keys.create("soon revoked")
    auth = {"Authorization": f"Bearer {secret}"}
    assert send(client, auth, {"user_id": "u", "title": "t"}).status_code == 201
    assert store.api_keys.revoke(key.key_id)
    assert send(client, auth, {"user_id": "u", "title": "t"}).status_code == 401


def test_wrong_secret_for_a_real_key_id_is_401(client, api_key):
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    assert send(client, {"Authorization": f"Bearer {forged}"},
                {"user_id": "u", "title": "t"}).status_code == 401


@pytest.mark.parametrize("raw, status, code", [
    (b"{not json", 400, "invalid_json"),
    (b"", 422, "invalid_body"),
    (b"[]", 422, "invalid_body"),
    (b'"text"', 422, "invalid_body"),
    ('{"user_id":"u","title":"\udcff"}'.encode("utf-8", "surrogatepass"), 400, "invalid_json"),
])
def test_malformed_bodies(client, auth, raw, status, code):
    response = client.post("/api/v1/notifications", data=raw, headers=auth)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_unknown_route_and_method_are_json(client, auth):
    missing = client.get("/api/v1/nothing", headers=auth)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert missing.json["error"]["message"] == (
        "No such API route: GET /api/v1/nothing (the routes are in /api/v1/openapi.json).")
    wrong = client.put("/api/v1/notifications", headers=auth)
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert wrong.json["error"] == {
        "code": "method_not_allowed",
        "message": "/api/v1/notifications does not take PUT; it takes POST."}


def test_every_validation_error_in_one_answer(client, auth, redis_client):
    response = send(client, auth, {"user_id": "u", "priority": "extreme", "link": "ftp://x"})
    assert response.status_code == 422
    error = response.json["error"]
    # The first problem stays where it always was.
    assert (error["code"], error["field"]) == ("invalid_field", "title")
    assert error["message"] == "title: Field required"
    assert [(e["field"], e["code"]) for e in error["errors"]] == [
        ("title", "invalid_field"), ("priority", "invalid_field"), ("link", "invalid_field")]
    assert all(e["message"].startswith(e["field"] + ": ") for e in error["errors"])
    assert user_keys(redis_client) == []


def test_errors_in_batch_items_each_name_their_item(client, auth):
    items = [{"user_id": "a", "title": "t"}, {"user_id": "bad id", "title": ""},
             {"user_id": "c", "title": "t", "priority": "loud"}]
    response = send(client, auth, {"notifications": items}, "/api/v1/notifications/batch")
    assert response.status_code == 422
    assert [e["field"] for e in response.json["error"]["errors"]] == [
        "notifications[1].title", "notifications[1].user_id", "notifications[2].priority"]


def test_a_misspelt_field_is_unknown_and_the_missing_one_is_named(client, auth, redis_client):
    response = send(client, auth, {"user_id": "u", "tittle": "Hello"})
    assert response.status_code == 422
    error = response.json["error"]
    assert (error["code"], error["field"]) == ("unknown_field", "tittle")
    assert error["message"] == "Unknown field 'tittle' (did you mean 'title'?)."
    assert [(e["field"], e["code"]) for e in error["errors"]] == [
        ("tittle", "unknown_field"), ("title", "invalid_field")]
    assert user_keys(redis_client) == []


@pytest.mark.parametrize("content_type, sent_as", [
    ("application/x-www-form-urlencoded",
     "; it was sent as a form (application/x-www-form-urlencoded)"),
    ("multipart/form-data; boundary=x", "; it was sent as a multipart form (multipart/form-data)"),
    ("application/json", ""),
])
def test_a_body_that_is_not_json_is_told_the_api_takes_json(client, auth, content_type,
                                                             sent_as):
    response = client.post("/api/v1/notifications", data=b"user_id=u&title=Hello",
                           headers={**auth, "Content-Type": content_type})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["code"], error["field"]) == ("invalid_json", "body")
    assert error["message"].startswith("The API takes JSON: send a JSON object "
                                       "(Content-Type: application/json). This body is "
                                       "not valid JSON (")
    assert error["message"].endswith(")" + sent_as + ".")
    assert error["errors"] == [{"field": "body", "code": "invalid_json",
                                "message": error["message"]}]


def test_json_sent_with_a_form_content_type_is_taken(client, auth):
    # curl -d labels the body a form unless told otherwise; JSON is still JSON.
    response = client.post("/api/v1/notifications", data='{"user_id": "u", "title": "t"}',
                           headers={**auth,
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 201


def test_redis_down_is_503_json(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    from conftest import free_port

    app = create_app(app_config(f"redis://127.0.0.1:{free_port()}/0"))
    response = app.test_client().post(
        "/api/v1/notifications", data='{"user_id":"u","title":"t"}',
        headers={"Authorization": "Bearer nk_0123456789abcdef_" + "x" * 43})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
    page = app.test_client().get("/login")
    assert page.status_code == 200  # the sign-in form needs no Redis
