"""The admin console's Broadcasts, Scheduled and Groups panels, through the real app."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from notifier import create_app
from notifier.admin.broadcasts import broadcast_state, can_end
from notifier.backend import backend
from notifier.core.keys import Keys
from notifier.model.requests import BroadcastRequest
from notifier.stores.broadcasts import Broadcast

from conftest import TEST_PREFIX, app_config, csrf_from, sign_in

PASSWORD = "correct horse battery"
KEYS = Keys(TEST_PREFIX)


@pytest.fixture
def admin_client(app, store):
    store.accounts.create("root", PASSWORD, admin=True)
    client = app.test_client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    return client


def local(delta: timedelta) -> str:
    """A ``datetime-local`` value ``delta`` from now, in UTC."""
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M")


def compose_page(client):
    return client.get("/admin/broadcasts").text


def request_id_of(html):
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', html).group(1)


def compose(client, request_id=None, **fields):
    page = compose_page(client)
    data = {"csrf_token": csrf_from(page), "request_id": request_id or request_id_of(page),
            "type": "system", "priority": "normal", "title": "", "body": "", "link": "",
            **fields}
    return client.post("/admin/broadcasts", data=data)


def api_broadcasts(client, auth):
    return client.get("/api/v1/broadcasts", headers=auth).json["broadcasts"]


def errors_of(html) -> dict[str, str]:
    """Field id -> its error message, as rendered."""
    return dict(re.findall(r'<p class="field-message" id="([a-z_]+)-error">([^<]+)</p>', html))


# -- compose ------------------------------------------------------------------
def test_compose_sends_to_everyone(admin_client, client, auth):
    response = compose(admin_client, title="Release 2.0", body="New things\r\nand more",
                       priority="high", link="https://example.com/notes")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/broadcasts"
    [made] = api_broadcasts(client, auth)
    assert made["title"] == "Release 2.0" and made["priority"] == "high"
    assert made["body"] == "New things\nand more"  # a textarea's CRLF stored as the API's LF
    assert made["link"] == "https://example.com/notes" and made["expires_at"] is None
    page = admin_client.get("/admin/broadcasts").text
    assert "Sent “Release 2.0” to everyone." in page
    row = page.split('id="recent-title"')[1]
    assert "Release 2.0" in row and "state-active" in row


def test_titles_and_bodies_are_escaped_everywhere(admin_client, client, auth):
    hostile = "<script>alert(1)</script>"
    compose(admin_client, title=hostile, body=f"<img src=x onerror=alert(2)> {hostile}")
    compose(admin_client, title=hostile, send_at=local(timedelta(days=1)))
    assert len(api_broadcasts(client, auth)) == 1
    for path in ("/admin/broadcasts", "/admin/scheduled"):
        page = admin_client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_a_form_sent_twice_makes_one_broadcast(admin_client, client, auth):
    page = compose_page(admin_client)
    request_id = request_id_of(page)
    first = compose(admin_client, request_id=request_id, title="Once")
    again = compose(admin_client, request_id=request_id, title="Once")
    assert first.status_code == again.status_code == 302
    assert [b["title"] for b in api_broadcasts(client, auth)] == ["Once"]
    assert "sent already" in admin_client.get("/admin/broadcasts").text
    # The same rendered form sent back with other content is not taken for a repeat.
    changed = compose(admin_client, request_id=request_id, title="Other")
    assert changed.status_code == 422 and "with other content" in changed.text
    assert [b["title"] for b in api_broadcasts(client, auth)] == ["Once"]
    assert request_id_of(changed.text) != request_id  # sending it again goes through
    assert compose(admin_client, request_id=request_id_of(changed.text),
                   title="Other").status_code == 302
    assert len(api_broadcasts(client, auth)) == 2


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"title": ""}, "title", "Write a title."),
    ({"title": "   "}, "title", "Must contain visible text."),
    ({"title": "x" * 201}, "title", "At most 200 characters."),
    ({"body": "x" * 2001}, "body", "At most 2000 characters."),
    ({"link": "javascript:alert(1)"}, "link", "Must be an absolute http:// or https:// URL."),
    ({"priority": "loudest"}, "priority", "Choose one of"),
    ({"type": "Not A Slug"}, "type", "Lowercase letters, digits and _ . - only."),
    ({"type": "maintenance"}, "starts_at", "A maintenance notice announces a window"),
    ({"starts_at": local(timedelta(hours=1))}, "ends_at", "both a start and an end"),
    ({"starts_at": local(timedelta(hours=2)), "ends_at": local(timedelta(hours=1))},
     "ends_at", "The window must end after it starts."),
    ({"expires_at": local(-timedelta(hours=1))}, "expires_at", "Must be in the future."),
    ({"send_at": local(-timedelta(hours=1))}, "send_at", "Must be in the future."),
    ({"send_at": local(timedelta(days=400))}, "send_at", "at most 365 days ahead"),
    ({"send_at": local(timedelta(hours=2)), "expires_at": local(timedelta(hours=1))},
     "send_at", "Must be before it expires"),
    ({"send_at": "tomorrow"}, "send_at", "Enter a date and time"),
    ({"send_at": local(timedelta(hours=2)), "send_at_offset": "9999"}, "send_at",
     "impossible time zone"),
    ({"send_at": local(timedelta(hours=2)), "send_at_offset": "+60; drop"}, "send_at",
     "impossible time zone"),
])
def test_invalid_broadcasts_show_errors_and_store_nothing(admin_client, redis_client, fields,
                                                          field, message):
    response = compose(admin_client, **{"title": "Fine", **fields})
    assert response.status_code == 422
    errors = errors_of(response.text)
    assert message in errors.get(field, ""), errors
    assert redis_client.hlen(KEYS.broadcast_items()) == 0
    assert redis_client.zcard(KEYS.sched_due()) == 0
    # What was typed is kept, and the form keeps its CSRF token and request id.
    assert csrf_from(response.text) and request_id_of(response.text)
    if fields.get("title"):
        assert f'value="{fields["title"]}"' in response.text


def test_several_errors_at_once(admin_client, redis_client):
    response = compose(admin_client, title="", link="ftp://x", send_at="soon",
                       type="maintenance")
    errors = errors_of(response.text)
    assert set(errors) == {"title", "link", "send_at", "starts_at"}, errors
    assert "announces a window" in errors["starts_at"]
    assert redis_client.hlen(KEYS.broadcast_items()) == 0


def test_the_form_checks_what_the_api_checks(admin_client, client, auth):
    # Every field rule comes from the API's model: what one refuses, so does the other.
    for title in ("", " ", "x" * 201):
        assert compose(admin_client, title=title).status_code == 422
        assert client.post("/api/v1/broadcasts", headers=auth,
                           json={"title": title}).status_code == 422
    assert BroadcastRequest.model_fields.keys() >= {"title", "body", "type", "priority",
                                                     "link", "expires_at", "starts_at",
                                                     "ends_at", "send_at"}


def test_compose_needs_a_csrf_token(admin_client, redis_client):
    page = compose_page(admin_client)
    response = admin_client.post("/admin/broadcasts", data={
        "request_id": request_id_of(page), "title": "No token", "type": "system",
        "priority": "normal"})
    assert response.status_code == 400
    assert redis_client.hlen(KEYS.broadcast_items()) == 0


def test_times_are_read_in_the_browsers_zone(admin_client, client, auth):
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    # The page's script puts each time's UTC offset beside it: UTC+05:30 here.
    offset = timedelta(hours=5, minutes=30)
    as_typed = (start + offset).strftime("%Y-%m-%dT%H:%M")
    until = (start + offset + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    compose(admin_client, title="Maintenance", type="maintenance",
            starts_at=as_typed, starts_at_offset="330", ends_at=until, ends_at_offset="330")
    [made] = api_broadcasts(client, auth)
    assert datetime.fromisoformat(made["starts_at"]) == start
    assert datetime.fromisoformat(made["ends_at"]) == start + timedelta(hours=2)
    assert made["expires_at"] == made["ends_at"]  # a maintenance notice goes with its window


def test_without_the_script_times_are_utc(admin_client, client, auth):
    send_at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    page = compose_page(admin_client)
    assert "Times are in <strong>UTC</strong>." in page
    compose(admin_client, title="Later", send_at=send_at.strftime("%Y-%m-%dT%H:%M"))
    [item] = client.get("/api/v1/scheduled", headers=auth).json["scheduled"]
    assert datetime.fromisoformat(item["send_at"]) == send_at


def test_a_scheduled_broadcast_is_listed_and_can_be_cancelled(admin_client, client, auth):
    response = compose(admin_client, title="Tomorrow's news", priority="urgent",
                       send_at=local(timedelta(days=1)))
    assert response.status_code == 302
    assert api_broadcasts(client, auth) == []  # nothing sent yet
    [item] = client.get("/api/v1/scheduled", headers=auth).json["scheduled"]
    assert item["kind"] == "broadcast" and item["created_by"] == "admin:root"
    page = admin_client.get("/admin/broadcasts").text
    assert "Scheduled “Tomorrow&#39;s news” for" in page and " UTC." in page
    scheduled = page.split('id="scheduled-title"')[1].split("</section>")[0]
    assert "Tomorrow&#39;s news" in scheduled and "admin:root" in scheduled
    cancel = admin_client.post(f"/admin/scheduled/{item['id']}/cancel", data={
        "csrf_token": csrf_from(page), "next": "/admin/broadcasts"})
    assert cancel.headers["Location"] == "/admin/broadcasts"
    assert client.get(f"/api/v1/scheduled/{item['id']}", headers=auth).status_code == 404
    page = admin_client.get("/admin/broadcasts").text
    assert "Cancelled “Tomorrow&#39;s news”." in page and "None waiting" in page


def test_the_scheduled_broadcast_is_the_one_composed(admin_client, store):
    compose(admin_client, title="Planned", body="b", type="maintenance", priority="low",
            starts_at=local(timedelta(days=1, hours=1)),
            ends_at=local(timedelta(days=1, hours=2)), send_at=local(timedelta(days=1)))
    [item], _ = store.scheduler.list(kind="broadcast")
    body = json.loads(store.redis.hget(KEYS.sched_body(), item.id))
    request = BroadcastRequest.model_validate_json(json.dumps(body["request"]))
    assert (request.type, request.title, request.body, request.priority) == (
        "maintenance", "Planned", "b", "low")
    assert request.ends_at - request.starts_at == timedelta(hours=1)


# -- end now --------------------------------------------------------------------
def announce(client, auth, **fields):
    response = client.post("/api/v1/broadcasts", headers=auth, json=fields)
    assert response.status_code == 201, response.text
    return response.json["broadcast"]


def iso_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def end_now(admin_client, broadcast_id):
    return admin_client.post(f"/admin/broadcasts/{broadcast_id}/end",
                             data={"csrf_token": csrf_from(compose_page(admin_client))})


def test_end_a_maintenance_window_early(admin_client, client, auth):
    made = announce(client, auth, title="DB upgrade", type="maintenance",
                    starts_at=iso_in(-timedelta(minutes=5)), ends_at=iso_in(timedelta(hours=1)))
    page = compose_page(admin_client)
    assert "In progress" in page and f"/admin/broadcasts/{made['id']}/end" in page
    assert end_now(admin_client, made["id"]).status_code == 302
    ended = client.get(f"/api/v1/broadcasts/{made['id']}", headers=auth).json
    assert datetime.fromisoformat(ended["ends_at"]) <= datetime.now(UTC)
    assert ended["expires_at"] == ended["ends_at"]
    page = compose_page(admin_client)
    assert "Ended the window of “DB upgrade” now." in page
    assert f"/admin/broadcasts/{made['id']}/end" not in page and "state-ended" in page
    # Ending it again says why it cannot.
    end_now(admin_client, made["id"])
    assert "already over" in compose_page(admin_client)


def test_an_upcoming_window_can_end_before_it_starts(admin_client, client, auth):
    made = announce(client, auth, title="Tonight", type="maintenance",
                    starts_at=iso_in(timedelta(hours=3)), ends_at=iso_in(timedelta(hours=4)),
                    expires_at=iso_in(timedelta(days=1)))
    assert "Upcoming" in compose_page(admin_client)
    end_now(admin_client, made["id"])
    ended = client.get(f"/api/v1/broadcasts/{made['id']}", headers=auth).json
    assert ended["starts_at"] == ended["ends_at"]
    assert datetime.fromisoformat(ended["expires_at"]) > datetime.now(UTC) + timedelta(hours=20)


def test_end_now_is_offered_only_for_windows(admin_client, client, auth):
    plain = announce(client, auth, title="Plain")
    assert f"/admin/broadcasts/{plain['id']}/end" not in compose_page(admin_client)
    end_now(admin_client, plain["id"])
    assert "announces no window" in compose_page(admin_client)
    for bad in ("b1-1", "nonsense", "1-1"):
        assert end_now(admin_client, bad).status_code == 404


def broadcast(**fields) -> Broadcast:
    base = {"id": "b1-0", "type": "system", "title": "t", "body": "", "data": {},
            "priority": "normal", "link": None, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": None, "starts_at": None, "ends_at": None}
    return Broadcast(**{**base, **fields})


def test_broadcast_states():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    at = {h: (now + timedelta(hours=h)).isoformat() for h in (-2, -1, 1, 2, 3)}
    assert broadcast_state(broadcast(), now) == "active"
    assert broadcast_state(broadcast(expires_at=at[1]), now) == "active"
    assert broadcast_state(broadcast(expires_at=at[-1]), now) == "expired"
    window = {"starts_at": at[1], "ends_at": at[2]}
    assert broadcast_state(broadcast(**window, expires_at=at[2]), now) == "upcoming"
    assert broadcast_state(broadcast(starts_at=at[-1], ends_at=at[1]), now) == "in_progress"
    assert broadcast_state(broadcast(starts_at=at[-2], ends_at=at[-1]), now) == "ended"
    assert broadcast_state(broadcast(starts_at=at[-2], ends_at=at[-1], expires_at=at[3]),
                           now) == "ended"
    assert broadcast_state(broadcast(**window, expires_at=at[-1]), now) == "expired"
    assert [s for s in ("active", "expired", "upcoming", "in_progress", "ended")
            if can_end(s)] == ["upcoming", "in_progress"]


# -- scheduled -------------------------------------------------------------------
@pytest.fixture
def quiet_app(redis_server, redis_client, tmp_path, monkeypatch):
    """An app under a prefix no running server's scheduler looks at, so what it
    schedules stays put; one attempt per item, two rows per page."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url, KEY_PREFIX="tpanels", ADMIN_PAGE_SIZE=2,
                                 SCHEDULER_MAX_ATTEMPTS=1))


@pytest.fixture
def quiet(quiet_app):
    with quiet_app.app_context():
        state = backend()
    state.accounts.create("root", PASSWORD, admin=True)
    client = quiet_app.test_client()
    sign_in(client, "root", PASSWORD)
    return client, state


def at(delta: timedelta) -> datetime:
    return datetime.now(UTC) + delta


def titles(html) -> list[str]:
    return re.findall(r'<span class="cell-title"[^>]*>([^<]+)</span>', html)


def test_scheduled_lists_every_kind_with_state_attempts_and_error(quiet):
    client, state = quiet
    sched = state.scheduler
    failing = sched.schedule("notifications", {"x": 1}, at(-timedelta(seconds=2)),
                             created_by="api:k1", title="Broken <b>send</b>", recipients=3)
    running = sched.schedule("group", {"x": 2}, at(-timedelta(seconds=1)),
                             created_by="api:k1", title="ops: deploy")
    claims = {c.id: c for c in sched.claim()[0]}
    assert set(claims) == {failing.id, running.id}
    assert sched.fail(claims[failing.id], "ValueError: <script>x</script>") == "failed"
    sched.schedule("broadcast", {"x": 3}, at(timedelta(hours=1)), created_by="admin:root",
                   title="Later")
    page = client.get("/admin/scheduled").text
    assert titles(page) == ["Broken &lt;b&gt;send&lt;/b&gt;", "ops: deploy"]
    rows = page.split("<tbody>")[1].split("</tr>")
    assert "Failed" in rows[0] and "ValueError: &lt;script&gt;x&lt;/script&gt;" in rows[0]
    assert re.search(r'data-label="Attempts">1<', rows[0])
    assert re.search(r'data-label="Recipients">3<', rows[0])
    assert "Sending" in rows[1] and "/cancel" not in rows[1]  # running: too late to cancel
    assert "Group sends" in rows[1] and "its members" in rows[1]
    later = client.get(re.search(r'href="([^"]+)" rel="next"', page).group(1)
                       .replace("&amp;", "&")).text
    assert titles(later) == ["Later"] and "Broadcasts" in later and "everyone" in later
    assert "Soonest" in later and 'rel="next"' not in later
    assert "<script>" not in page


def test_scheduled_filters_by_kind(quiet):
    client, state = quiet
    for kind, title in (("notifications", "n1"), ("broadcast", "b1"), ("group", "g1")):
        state.scheduler.schedule(kind, {}, at(timedelta(hours=1)), created_by="t", title=title)
    assert titles(client.get("/admin/scheduled?kind=broadcast").text) == ["b1"]
    assert titles(client.get("/admin/scheduled?kind=group").text) == ["g1"]
    state.scheduler.cancel(state.scheduler.list(kind="group")[0][0].id)
    assert "No group sends scheduled" in client.get("/admin/scheduled?kind=group").text
    for bad in ("kind=nope", "after=x", "after=../../", "kind=broadcast&after=1:sch_x"):
        assert client.get(f"/admin/scheduled?{bad}").status_code == 400


def test_cancel_from_the_scheduled_page(quiet):
    client, state = quiet
    item = state.scheduler.schedule("notifications", {}, at(timedelta(hours=1)),
                                    created_by="t", title="Reminder")
    page = client.get("/admin/scheduled").text
    token = csrf_from(page)
    back = "/admin/scheduled?kind=notifications"
    response = client.post(f"/admin/scheduled/{item.id}/cancel",
                           data={"csrf_token": token, "next": back})
    assert response.headers["Location"] == back
    assert state.scheduler.get(item.id) is None
    assert "Cancelled “Reminder”." in client.get("/admin/scheduled").text
    again = client.post(f"/admin/scheduled/{item.id}/cancel", data={"csrf_token": token})
    assert again.headers["Location"] == "/admin/scheduled"
    assert "went out already or was cancelled" in client.get("/admin/scheduled").text
    assert client.post("/admin/scheduled/nope/cancel",
                       data={"csrf_token": token}).status_code == 404
    evil = client.post(f"/admin/scheduled/{item.id}/cancel",
                       data={"csrf_token": token, "next": "//evil.example/"})
    assert evil.headers["Location"] == "/admin/scheduled"


def test_a_running_send_cannot_be_cancelled(quiet):
    client, state = quiet
    item = state.scheduler.schedule("notifications", {}, at(-timedelta(seconds=1)),
                                    created_by="t", title="Now")
    assert [c.id for c in state.scheduler.claim()[0]] == [item.id]
    client.post(f"/admin/scheduled/{item.id}/cancel",
                data={"csrf_token": csrf_from(client.get("/admin/scheduled").text)})
    assert "can no longer be cancelled" in client.get("/admin/scheduled").text
    assert state.scheduler.get(item.id).state == "running"


# -- groups -----------------------------------------------------------------------
def create_group(client, name, description=""):
    page = client.get("/admin/groups").text
    return client.post("/admin/groups", data={"csrf_token": csrf_from(page), "name": name,
                                              "description": description})


def test_create_a_group_and_see_it_listed(admin_client, client, auth):
    response = create_group(admin_client, "ops", "On-call <script>x</script> engineers")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/groups/ops"
    assert client.get("/api/v1/groups/ops", headers=auth).json["description"] == (
        "On-call <script>x</script> engineers")
    page = admin_client.get("/admin/groups").text
    assert 'href="/admin/groups/ops"' in page
    assert "On-call &lt;script&gt;x&lt;/script&gt; engineers" in page and "<script>x" not in page
    group_page = admin_client.get("/admin/groups/ops").text
    assert "<h1>ops</h1>" in group_page and "No members yet" in group_page
    assert "<script>x" not in group_page


@pytest.mark.parametrize(("name", "description", "field", "message"), [
    ("", "", "name", "Lowercase letters"),
    ("Ops", "", "name", "Lowercase letters"),
    ("a b", "", "name", "Lowercase letters"),
    ("-x", "", "name", "Lowercase letters"),
    ("x" * 65, "", "name", "Lowercase letters"),
    ("ok", "d" * 501, "description", "At most 500 characters."),
])
def test_bad_groups_are_refused(admin_client, redis_client, name, description, field, message):
    response = create_group(admin_client, name, description)
    assert response.status_code == 422
    assert message in errors_of(response.text).get(field, "")
    assert redis_client.zcard(KEYS.groups()) == 0


def test_a_taken_name_is_refused(admin_client, store):
    create_group(admin_client, "ops", "first")
    response = create_group(admin_client, "ops", "second")
    assert response.status_code == 422
    assert "exists already" in errors_of(response.text)["name"]
    assert store.groups.get("ops").description == "first"


def add_member(client, group, user_id):
    page = client.get(f"/admin/groups/{group}").text
    return client.post(f"/admin/groups/{group}/members",
                       data={"csrf_token": csrf_from(page), "user_id": user_id})


def members_on(html) -> list[str]:
    return re.findall(r'<th scope="row" class="cell-name"><span class="mono">([^<]+)</span>', html)


def test_add_and_remove_members(admin_client, client, auth, store):
    store.groups.create("ops")
    assert add_member(admin_client, "ops", "alice").headers["Location"] == "/admin/groups/ops"
    add_member(admin_client, "ops", "bob@example.com")
    assert "Added bob@example.com." in admin_client.get("/admin/groups/ops").text
    add_member(admin_client, "ops", "alice")
    page = admin_client.get("/admin/groups/ops").text
    assert "alice is a member already." in page
    assert members_on(page) == ["alice", "bob@example.com"]
    assert client.get("/api/v1/groups/ops/members", headers=auth).json["members"] == [
        "alice", "bob@example.com"]
    response = admin_client.post("/admin/groups/ops/members/remove", data={
        "csrf_token": csrf_from(page), "user_id": "alice"})
    assert response.headers["Location"] == "/admin/groups/ops"
    assert client.get("/api/v1/groups/ops/members", headers=auth).json["members"] == [
        "bob@example.com"]
    page = admin_client.get("/admin/groups/ops").text
    assert "Removed alice." in page
    admin_client.post("/admin/groups/ops/members/remove", data={
        "csrf_token": csrf_from(page), "user_id": "alice"})
    assert "alice is not a member." in admin_client.get("/admin/groups/ops").text
    admin_client.post("/admin/groups/ops/members/remove", data={
        "csrf_token": csrf_from(page), "user_id": "<script>"})
    page = admin_client.get("/admin/groups/ops").text
    assert "That is not a user id." in page and "<script>" not in page


@pytest.mark.parametrize("user_id", ["", "a b", "<script>", "x" * 65, "ä"])
def test_bad_member_ids_are_refused(admin_client, store, user_id):
    store.groups.create("ops")
    response = add_member(admin_client, "ops", user_id)
    assert response.status_code == 422
    assert errors_of(response.text)["user_id"]
    assert store.groups.get("ops").members == 0
    assert "<script>" not in response.text.split("<main")[1]


def test_a_full_group_says_so(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, GROUP_MAX_MEMBERS=1))
    with app.app_context():
        state = backend()
    state.accounts.create("root", PASSWORD, admin=True)
    state.groups.create("tiny")
    client = app.test_client()
    sign_in(client, "root", PASSWORD)
    assert add_member(client, "tiny", "one").status_code == 302
    response = add_member(client, "tiny", "two")
    assert response.status_code == 422
    assert "its maximum" in errors_of(response.text)["user_id"]
    assert state.groups.member_ids("tiny") == ["one"]


def test_members_page_by_id(quiet):
    client, state = quiet
    state.groups.create("big")
    for user_id in ("e", "a", "d", "c", "b"):
        state.groups.add_member("big", user_id)
    first = client.get("/admin/groups/big").text
    assert members_on(first) == ["a", "b"]
    second = client.get(re.search(r'href="([^"]+)" rel="next"', first).group(1)).text
    assert members_on(second) == ["c", "d"] and "← First" in second
    assert client.get("/admin/groups/big?after=%3Cx%3E").status_code == 400


def test_groups_page_by_name(quiet):
    client, state = quiet
    for name in ("c", "a", "b"):
        state.groups.create(name)
    first = client.get("/admin/groups").text
    assert re.findall(r'<a class="mono" href="/admin/groups/([^"]+)">', first) == ["a", "b"]
    second = client.get("/admin/groups?after=b").text
    assert re.findall(r'<a class="mono" href="/admin/groups/([^"]+)">', second) == ["c"]
    assert client.get("/admin/groups?after=B%20C").status_code == 400


def test_delete_a_group_after_confirming(admin_client, client, auth, store):
    store.groups.create("old", "to go")
    store.groups.add_member("old", "alice")
    confirm = admin_client.get("/admin/groups/old/delete")
    assert confirm.status_code == 200 and "Delete “old”?" in confirm.text
    assert store.groups.get("old") is not None  # asking deletes nothing
    response = admin_client.post("/admin/groups/old/delete",
                                 data={"csrf_token": csrf_from(confirm.text)})
    assert response.headers["Location"] == "/admin/groups"
    assert client.get("/api/v1/groups/old", headers=auth).status_code == 404
    assert "Deleted the group “old”." in admin_client.get("/admin/groups").text


def test_unknown_groups_are_404(admin_client):
    token = csrf_from(admin_client.get("/admin/groups").text)
    for name in ("ghost", "Bad%20Name", "x" * 65):
        assert admin_client.get(f"/admin/groups/{name}").status_code == 404
        assert admin_client.get(f"/admin/groups/{name}/delete").status_code == 404
        for action in ("delete", "members", "members/remove"):
            response = admin_client.post(f"/admin/groups/{name}/{action}",
                                         data={"csrf_token": token, "user_id": "alice"})
            assert response.status_code == 404, (name, action)
