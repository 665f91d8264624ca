"""The in-process publisher: the API's validation, preferences, storage, live delivery
and idempotency, without HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
from sse_client import SSEStream

from notifier import publisher
from notifier.core.errors import ApiError
from notifier.publisher import Publisher, Scheduled, Sent

from conftest import TEST_PREFIX


@pytest.fixture
def pub(app) -> Publisher:
    return Publisher(app)


@pytest.fixture
def unconfigured(monkeypatch):
    monkeypatch.setattr(publisher, "_configured", None)


def test_a_published_notification_arrives_live_on_an_open_stream(live_server, app,
                                                                   token_for, store):
    pub = Publisher(app)  # the same Redis and key prefix as the live server
    with SSEStream(live_server.url, f"/events?token={token_for('pub-ann')}") as stream:
        assert stream.status == 200
        assert stream.next_of("unread").json() == {"unread": 0}
        sent = pub.send("pub-ann", title="Export ready", body="3 files",
                        link="https://example.com/x", priority="high")
        event = stream.next_of("notification")
        assert event.nid == sent.ids[0]
        shown = event.json()
        assert shown["title"] == "Export ready" and shown["body"] == "3 files"
        assert shown["priority"] == "high" and shown["user_id"] == "pub-ann"
        assert stream.next_of("unread").json() == {"unread": 1}
    assert sent == Sent(notifications=[("pub-ann", sent.ids[0])], replayed=False)
    items, _ = store.feed.page("pub-ann", limit=10)
    assert [n.id for n in items] == sent.ids


def test_preferences_route_a_published_send_as_they_route_the_api(
        live_server, app, client, auth, token_for):
    client.put("/api/v1/users/pub-muted/preferences", headers=auth,
               json={"channels": {"ci": {"in_app": False}}})
    with SSEStream(live_server.url, f"/events?token={token_for('pub-muted')}") as stream:
        stream.next_of("unread")
        Publisher(app).batch([{"user_id": "pub-muted", "title": "build", "type": "ci"},
                              {"user_id": "pub-muted", "title": "hi", "type": "mention"}])
        first, second = stream.next_of("notification"), stream.next_of("notification")
    assert first.json()["title"] == "build" and first.json().get("live") is False
    assert second.json()["title"] == "hi" and "live" not in second.json()


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"title": ""}, "title", "invalid_field"),
    ({"title": "a\nb"}, "title", "invalid_field"),
    ({"title": "t", "tittle": "t"}, "tittle", "unknown_field"),
    ({"title": "t", "link": "javascript:alert(1)"}, "link", "invalid_field"),
    ({"title": "t", "expires_at": datetime(2030, 1, 1)}, "expires_at", "invalid_field"),
    ({"title": "t", "data": {"x": float("nan")}}, "user_id", "invalid_body"),
])
def test_a_bad_field_raises_the_error_the_api_answers(pub, client, auth, store, fields,
                                                      field, code):
    with pytest.raises(ApiError) as raised:
        pub.send("bob", **fields)
    error = raised.value
    assert (error.status, error.code, error.field) == (422, code, field)
    if code != "invalid_body":  # a NaN cannot be sent as JSON at all
        body = {"user_id": "bob", **fields}
        if isinstance(body.get("expires_at"), datetime):
            body["expires_at"] = body["expires_at"].isoformat()
        answer = client.post("/api/v1/notifications", headers=auth, json=body)
        assert answer.status_code == 422
        assert answer.json["error"] == error.to_dict()  # every problem, as the API lists them
        assert answer.json["error"]["errors"][0]["field"] == field
    assert store.feed.page("bob", limit=10)[0] == []


def test_a_bad_user_id_and_a_bad_batch_item_name_their_field(pub, store):
    with pytest.raises(ApiError) as raised:
        pub.send("no spaces", title="t")
    assert (raised.value.status, raised.value.field) == (422, "user_id")
    with pytest.raises(ApiError) as raised:
        pub.batch([{"user_id": "a", "title": "ok"}, {"user_id": "b", "title": ""}])
    assert (raised.value.status, raised.value.field) == (422, "notifications[1].title")
    with pytest.raises(ApiError) as raised:
        pub.send_many([], title="t")
    assert raised.value.field == "user_ids"
    assert store.feed.page("a", limit=10)[0] == []


def test_send_many_reaches_each_user_once_in_order(pub, store):
    sent = pub.send_many(["p1", "p2", "p1"], title="deploy")
    assert [user for user, _ in sent.notifications] == ["p1", "p2"]
    for user, notification_id in sent.notifications:
        items, _ = store.feed.page(user, limit=10)
        assert [(n.id, n.title) for n in items] == [(notification_id, "deploy")]


def test_an_idempotency_key_sends_once_and_refuses_another_request(pub, store, client,
                                                                     auth):
    first = pub.send("idem", title="once", idempotency_key="order-7")
    again = pub.send("idem", title="once", idempotency_key="order-7")
    assert again == Sent(notifications=first.notifications, replayed=True)
    with pytest.raises(ApiError) as raised:
        pub.send("idem", title="other", idempotency_key="order-7")
    assert (raised.value.code, raised.value.field) == ("idempotency_conflict",
                                                       "idempotency_key")
    # An API key's keys are its own: the same key over the API is another send.
    answer = client.post("/api/v1/notifications", headers=auth,
                         json={"user_id": "idem", "title": "once",
                               "idempotency_key": "order-7"})
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert len(store.feed.page("idem", limit=10)[0]) == 2


def test_send_at_schedules_the_send(pub, store):
    when = datetime.now(UTC) + timedelta(hours=1)
    scheduled = pub.send("later", title="reminder", send_at=when, idempotency_key="r-1")
    assert isinstance(scheduled, Scheduled) and scheduled.kind == "notifications"
    assert abs((scheduled.send_at - when).total_seconds()) < 0.01
    item = store.scheduler.get(scheduled.id)
    assert item.created_by == "publisher" and item.title == "reminder"
    assert pub.send("later", title="reminder", send_at=when,
                    idempotency_key="r-1").replayed is True
    assert store.feed.page("later", limit=10)[0] == []


def test_configure_with_the_servers_redis_url(redis_server, redis_client, store, unconfigured):
    with pytest.raises(RuntimeError, match="configure"):
        publisher.send("x", title="t")
    publisher.configure(redis_url=redis_server.url, KEY_PREFIX=TEST_PREFIX,
                        SECRET_KEY="test-secret")
    sent = publisher.send("module-user", title="from a task")
    batch = publisher.batch([{"user_id": "module-user", "title": "second"}])
    items, _ = store.feed.page("module-user", limit=10)
    assert [n.id for n in items] == batch.ids + sent.ids
    with pytest.raises(TypeError):
        publisher.configure()


def test_inside_the_servers_app_context_the_app_is_used(app, store, unconfigured):
    with app.app_context():
        sent = publisher.send_many(["ctx-user"], title="from a view")
    assert store.feed.page("ctx-user", limit=10)[0][0].id == sent.ids[0]
