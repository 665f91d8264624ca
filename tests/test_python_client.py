"""notifier-client against the real server: every method, typed results, errors that
name the field, the asyncio variant and the Flask extension."""

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sse_client import SSEStream

from notifier_client import (
    AsyncNotifier,
    Broadcast,
    DeleteResult,
    Notification,
    NotificationType,
    Notifier,
    NotifierError,
    QuietHours,
    ReadResult,
    Scheduled,
    SendResult,
    SentNotification,
    UnreadCount,
)
from notifier_client.flask_extension import NotifierClient


@pytest.fixture
def notifier(live_server, api_key):
    with Notifier(live_server.url, api_key) as client:
        yield client


def test_send_list_count_mark_read_and_delete(notifier):
    sent = notifier.send("cl-ann", "Build passed", body="main is green", priority="high",
                         link="https://ci.example.com/1", data={"run": 1},
                         actions=[{"label": "Open", "url": "https://ci.example.com/1"}])
    assert isinstance(sent, SendResult) and sent.replayed is False
    assert sent.notifications == [SentNotification(user_id="cl-ann", id=sent.ids[0])]
    other = notifier.send("cl-ann", "Second")
    assert notifier.unread_count("cl-ann") == UnreadCount(user_id="cl-ann", unread=2)

    page = notifier.list("cl-ann")
    assert [n.id for n in page.notifications] == [other.ids[0], sent.ids[0]]
    first = page.notifications[1]
    assert isinstance(first, Notification) and first.title == "Build passed"
    assert first.data == {"run": 1} and first.priority == "high" and first.read is False
    assert first.actions[0].label == "Open" and first.actions[0].url.endswith("/1")
    assert isinstance(first.created_at, datetime) and first.created_at.tzinfo is not None
    assert first.expires_at is None and first.source == "direct"

    one = notifier.list("cl-ann", limit=1)
    assert [n.id for n in one.notifications] == [other.ids[0]] and one.next is not None
    rest = notifier.list("cl-ann", limit=1, before=one.next)
    assert [n.id for n in rest.notifications] == [sent.ids[0]]

    assert notifier.mark_read("cl-ann", [sent.ids[0]]) == ReadResult(marked=1, unread=1)
    assert [n.id for n in notifier.list("cl-ann", unread=True).notifications] == other.ids
    assert [n.id for n in notifier.list("cl-ann", read=True).notifications] == sent.ids
    found = notifier.list("cl-ann", q="MAIN green", types=["general", "x"],
                          priorities=["high", "urgent"])
    assert [n.id for n in found.notifications] == sent.ids
    assert notifier.list("cl-ann", q="main", priorities=["low"]).notifications == []
    assert notifier.mark_read("cl-ann", all=True) == ReadResult(marked=1, unread=0)
    assert notifier.delete("cl-ann", sent.ids[0]) == DeleteResult(deleted=sent.ids[0],
                                                                  unread=0)
    assert [n.id for n in notifier.list("cl-ann").notifications] == other.ids


def test_threads_are_sent_listed_and_read_as_one(notifier):
    first = notifier.send("cl-thread", "Comment 1", thread="pr-4411")
    notifier.send("cl-thread", "Comment 2", thread="pr-4411")
    notifier.send("cl-thread", "Elsewhere")
    page = notifier.list("cl-thread")
    assert [n.thread for n in page.notifications] == [None, "pr-4411", "pr-4411"]
    assert notifier.mark_thread_read("cl-thread", "pr-4411") == ReadResult(marked=2, unread=1)
    with pytest.raises(NotifierError) as refused:
        notifier.send("cl-thread", "Bad", thread="pr 1")
    assert refused.value.field == "thread" and first.ids


def test_send_many_batch_and_an_explicit_idempotency_key(notifier):
    many = notifier.send_many(["cl-a", "cl-b", "cl-a"], "Deploy at 5")
    assert [n.user_id for n in many.notifications] == ["cl-a", "cl-b"]
    batch = notifier.batch([{"user_id": "cl-a", "title": "for a"},
                            {"user_id": "cl-b", "title": "for b", "type": "ci"}])
    assert [n.user_id for n in batch.notifications] == ["cl-a", "cl-b"]
    assert notifier.list("cl-b").notifications[0].type == "ci"

    first = notifier.send("cl-c", "Order 7 shipped", idempotency_key="order-7")
    again = notifier.send("cl-c", "Order 7 shipped", idempotency_key="order-7")
    assert again.replayed is True and again.ids == first.ids
    assert notifier.unread_count("cl-c").unread == 1
    with pytest.raises(NotifierError) as raised:
        notifier.send("cl-c", "Order 8 shipped", idempotency_key="order-7")
    assert (raised.value.status, raised.value.code, raised.value.field) == (
        422, "idempotency_conflict", "idempotency_key")


def test_an_invalid_body_names_every_problem(notifier):
    with pytest.raises(NotifierError) as raised:
        notifier.send("cl-many", "t", tittle="x", priority="loudest")
    error = raised.value
    assert (error.status, error.code, error.field) == (422, "unknown_field", "tittle")
    assert [(e["field"], e["code"]) for e in error.errors] == [
        ("tittle", "unknown_field"), ("priority", "invalid_field")]


def test_schedule_and_cancel(notifier, store):
    when = datetime.now(UTC) + timedelta(hours=2)
    scheduled = notifier.schedule("cl-later", "Standup in 5", send_at=when)
    assert isinstance(scheduled, Scheduled) and scheduled.kind == "notifications"
    assert abs((scheduled.send_at - when).total_seconds()) < 0.01
    assert store.scheduler.get(scheduled.id).title == "Standup in 5"
    to_many = notifier.schedule(["cl-x", "cl-y"], "Both", send_at=when)
    assert store.scheduler.get(to_many.id).recipients == 2
    later_batch = notifier.batch([{"user_id": "cl-x", "title": "b"}], send_at=when)
    assert isinstance(later_batch, Scheduled)

    assert notifier.cancel(scheduled.id) is None
    assert store.scheduler.get(scheduled.id) is None
    with pytest.raises(NotifierError) as raised:
        notifier.cancel(scheduled.id)
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    with pytest.raises(NotifierError) as raised:
        notifier.schedule("cl-later", "Past", send_at=datetime.now(UTC) - timedelta(hours=1))
    assert (raised.value.status, raised.value.field) == (422, "send_at")


def test_broadcast(notifier):
    earlier = notifier.send("cl-anyone", "Welcome")
    broadcast = notifier.broadcast("Maintenance tonight", body="10 minutes")
    assert isinstance(broadcast, Broadcast) and broadcast.id.startswith("b")
    assert broadcast.type == "system" and broadcast.starts_at is None
    shown = notifier.list("cl-anyone").notifications
    assert [(n.id, n.source) for n in shown] == [(broadcast.id, "broadcast"),
                                                 (earlier.ids[0], "direct")]
    again = notifier.broadcast("Maintenance tonight", body="10 minutes",
                               idempotency_key="mt-1")
    assert notifier.broadcast("Maintenance tonight", body="10 minutes",
                              idempotency_key="mt-1").id == again.id
    later = notifier.broadcast("Later", send_at=datetime.now(UTC) + timedelta(hours=1))
    assert isinstance(later, Scheduled)


def test_preferences(notifier):
    shown = notifier.preferences("cl-prefs")
    assert shown.user_id == "cl-prefs" and shown.preferences.timezone == "UTC"
    assert shown.preferences.quiet_hours is None and shown.preferences.email is None
    saved = notifier.set_preferences("cl-prefs", {
        "timezone": "Europe/Berlin", "quiet_hours": {"start": "22:00", "end": "07:00"},
        "channels": {"ci": {"in_app": False}}})
    assert saved.preferences.channels["ci"] == {"in_app": False}
    assert saved.preferences.quiet_hours == QuietHours(start="22:00", end="07:00")
    assert notifier.preferences("cl-prefs") == saved
    changed = dataclasses.replace(saved.preferences, email="Ann@Example.com")
    assert notifier.set_preferences("cl-prefs", changed).preferences.email == \
        "Ann@example.com"
    with pytest.raises(NotifierError) as raised:
        notifier.set_preferences("cl-prefs", {"timezone": "Mars/Olympus"})
    assert (raised.value.status, raised.value.field) == (422, "timezone")


def test_types(notifier):
    described = notifier.describe_type("cl.security", "Security alerts",
                                       default_channels=["email", "in_app"],
                                       user_can_disable=False, category="Account")
    assert isinstance(described, NotificationType)
    assert (described.label, described.default_channels, described.user_can_disable) == (
        "Security alerts", ["in_app", "email"], False)
    assert isinstance(described.updated_at, datetime)
    again = notifier.describe_type("cl.security", "Security")
    assert again.default_channels is None and again.user_can_disable is True
    assert "cl.security" in [t.type for t in notifier.types().types]
    assert notifier.forget_type("cl.security") is None
    with pytest.raises(NotifierError) as raised:
        notifier.forget_type("cl.security")
    assert raised.value.status == 404
    with pytest.raises(NotifierError) as raised:
        notifier.describe_type("cl.security", "")
    assert (raised.value.status, raised.value.field) == (422, "label")


def test_widget_token_opens_the_users_stream_and_sign_in_link(notifier, live_server):
    token = notifier.widget_token("cl-widget", ttl_seconds=120)
    assert token.user_id == "cl-widget" and token.expires_in == 120 and token.origins == []
    assert token.expires_at > datetime.now(UTC)
    with SSEStream(live_server.url, f"/events?token={token.token}") as stream:
        assert stream.status == 200
        stream.next_of("unread")
        sent = notifier.send("cl-widget", "Live")
        assert stream.next_of("notification").nid == sent.ids[0]
    link = notifier.sign_in_link("cl-widget", next="/settings")
    assert link.user_id == "cl-widget" and "/sign-in/" in link.url and link.expires_in > 0
    with pytest.raises(NotifierError) as raised:
        notifier.sign_in_link("cl-widget", next="https://evil.example")
    assert raised.value.field == "next"


@pytest.mark.parametrize(("call", "status", "code", "field"), [
    (lambda n: n.send("cl-bad", ""), 422, "invalid_field", "title"),
    (lambda n: n.send("cl-bad", "t", tittle="x"), 422, "unknown_field", "tittle"),
    (lambda n: n.send("cl-bad", "t", expires_at=datetime(2030, 1, 1)), 422,
     "invalid_field", "expires_at"),
    (lambda n: n.send("has space", "t"), 422, "invalid_field", "user_id"),
    (lambda n: n.batch([{"user_id": "a", "title": "ok"}, {"user_id": "b"}]), 422,
     "invalid_field", "notifications[1].title"),
    (lambda n: n.list("has space"), 422, "invalid_field", "user_id"),
    (lambda n: n.list("cl-bad", limit=0), 422, "invalid_field", "limit"),
    (lambda n: n.mark_read("cl-bad", []), 422, "invalid_field", "ids"),
    (lambda n: n.delete("cl-bad", "1-1"), 404, "not_found", None),
    (lambda n: n.widget_token("cl-bad", origins=["https://not-allowed.example"]), 422,
     "origin_not_allowed", "origins"),
])
def test_an_error_answer_becomes_an_exception_naming_the_field(notifier, call, status, code,
                                                               field):
    with pytest.raises(NotifierError) as raised:
        call(notifier)
    error = raised.value
    assert (error.status, error.code, error.field) == (status, code, field)
    assert error.message and code in str(error)
    assert notifier.unread_count("cl-bad").unread == 0


def test_a_path_parameter_cannot_leave_its_segment(notifier):
    notifier.send("cl-victim", "private")
    with pytest.raises(NotifierError) as raised:  # not cl-victim's listing
        notifier.list("../users/cl-victim")
    assert raised.value.status == 404


def test_a_bad_api_key_is_401(live_server):
    with Notifier(live_server.url, "nk_nope_nope") as client, \
            pytest.raises(NotifierError) as raised:
        client.unread_count("cl-x")
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_the_async_client_has_the_same_methods(live_server, api_key):
    async def scenario():
        async with AsyncNotifier(live_server.url, api_key) as notifier:
            sent = await notifier.send("cl-async", "From asyncio")
            many = await asyncio.gather(*(notifier.send("cl-async", f"n{i}")
                                          for i in range(5)))
            assert (await notifier.unread_count("cl-async")).unread == 6
            page = await notifier.list("cl-async", limit=10)
            assert sent.ids[0] in [n.id for n in page.notifications]
            assert (await notifier.mark_read("cl-async", all=True)).marked == 6
            await notifier.delete("cl-async", many[0].ids[0])
            assert len((await notifier.list("cl-async")).notifications) == 5
            token = await notifier.widget_token("cl-async")
            assert token.user_id == "cl-async"
            with pytest.raises(NotifierError) as raised:
                await notifier.send("cl-async", "t", priority="loud")
            assert (raised.value.status, raised.value.field) == (422, "priority")

    # A thread of its own: Playwright's sync API keeps a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(scenario())).result(timeout=60)


def test_the_flask_extension_reads_the_apps_config(live_server, api_key):
    extension = NotifierClient()
    app = Flask("sender")
    app.config.update(NOTIFIER_URL=live_server.url, NOTIFIER_API_KEY=api_key)
    extension.init_app(app)

    @app.post("/orders/<user_id>")
    def ship(user_id):
        return {"id": extension.send(user_id, "Your order shipped").ids[0]}

    answer = app.test_client().post("/orders/cl-flask")
    assert answer.status_code == 200
    with app.app_context():
        assert extension.list("cl-flask").notifications[0].id == answer.json["id"]
        assert extension.client is app.extensions["notifier_client"]
        with pytest.raises(AttributeError):
            extension._call  # noqa: B018
    unconfigured = Flask("other")
    with pytest.raises(RuntimeError, match="NOTIFIER_URL"):
        NotifierClient(unconfigured)
    bare = Flask("bare")
    with bare.app_context(), pytest.raises(RuntimeError, match="init_app"):
        extension.send("cl-flask", "nowhere")
