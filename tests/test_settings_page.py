"""The settings page through Flask's test client: CSRF, saving, errors beside fields."""

from notifier.model.preferences import Preferences
from notifier.model.requests import SendRequest

from conftest import csrf_from


def form_of(page_html: str, **fields) -> dict:
    return {"csrf_token": csrf_from(page_html), "timezone": "UTC", **fields}


def test_needs_sign_in(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_shows_a_row_per_type_sent_and_the_defaults(signed_in, store):
    for kind in ("ci", "security"):
        store.inbox.send([SendRequest(user_id="x", title="t", type=kind)], [("x", 0)])
    page = signed_in.get("/settings")
    assert page.status_code == 200
    html = page.text
    assert 'name="ch:ci:email" value="1" data-channel="email" checked' in html
    assert 'name="ch:security:sms" value="1" data-channel="sms" >' in html
    assert 'name="ch:*:in_app"' in html and 'name="rows" value="security"' in html
    assert 'data-zone-unset="true"' in html
    assert '{% include' not in html


def test_saves_switches_contact_and_quiet_hours(signed_in, store):
    store.inbox.send([SendRequest(user_id="x", title="t", type="ci")], [("x", 0)])
    html = signed_in.get("/settings").text
    data = form_of(html, email="alice@example.com", phone="+4915112345678",
                   timezone="Europe/Berlin", quiet_start="22:00", quiet_end="07:00",
                   rows=["ci"])
    data.update({"ch:*:in_app": "1", "ch:*:email": "1", "ch:*:sms": "1",
                 "ch:ci:in_app": "1", "ch:ci:email": "1", "ch:ci:sms": "1"})
    response = signed_in.post("/settings", data=data)
    assert response.status_code == 302
    prefs = store.preferences.load("alice")
    assert (prefs.email, prefs.phone, prefs.timezone) == (
        "alice@example.com", "+4915112345678", "Europe/Berlin")
    assert prefs.has_quiet_hours and prefs.quiet_start.hour == 22
    # web_push and mobile_push were left unchecked in both rows; ci follows the default row.
    assert prefs.switches == {("*", "in_app"): True, ("*", "web_push"): False,
                              ("*", "email"): True, ("*", "mobile_push"): False,
                              ("*", "sms"): True}
    assert "Settings saved." in signed_in.get("/settings").text


def test_a_type_switch_that_was_left_alone_follows_the_default_row(signed_in, store):
    store.preferences.save("alice", Preferences(switches={("security", "sms"): True}))
    for kind in ("ci", "security"):
        store.inbox.send([SendRequest(user_id="x", title="t", type=kind)], [("x", 0)])
    html = signed_in.get("/settings").text
    # As shown: everything on but SMS, security also SMS. The user turns default email
    # off and leaves the type rows as they were (no script to move them).
    on = {"in_app", "web_push", "mobile_push"}
    data = form_of(html, rows=["ci", "security"])
    for channel in on:
        data[f"ch:*:{channel}"] = "1"
    for channel in (*on, "email"):
        data[f"ch:ci:{channel}"] = data[f"ch:security:{channel}"] = "1"
    data["ch:security:sms"] = "1"
    assert signed_in.post("/settings", data=data).status_code == 302
    prefs = store.preferences.load("alice")
    assert not prefs.enabled("ci", "email") and not prefs.enabled("security", "email")
    assert prefs.enabled("security", "sms") and not prefs.enabled("ci", "sms")


def test_a_bad_phone_is_shown_beside_its_field_and_nothing_is_saved(signed_in, store):
    store.preferences.save("alice", Preferences(email="old@example.com"))
    html = signed_in.get("/settings").text
    response = signed_in.post("/settings", data=form_of(
        html, email="new@example.com", phone="0151 234", quiet_start="22:00",
        timezone="Mars/Olympus"))
    assert response.status_code == 422
    text = response.text
    assert 'id="phone-error">Must be an international number in E.164 form' in text
    assert 'id="quiet_end-error">Give both times' in text
    assert 'value="new@example.com"' in text  # what was typed stays
    assert store.preferences.load("alice").email == "old@example.com"
    response = signed_in.post("/settings", data=form_of(html, timezone="Mars/Olympus"))
    assert 'id="timezone-error">Must be an IANA time zone name' in response.text


def test_without_a_csrf_token_nothing_is_saved(signed_in, store):
    response = signed_in.post("/settings", data={"email": "x@example.com", "timezone": "UTC"})
    assert response.status_code == 400
    assert store.preferences.load("alice").email is None


def test_text_is_escaped(signed_in, store):
    store.preferences.save("alice", Preferences(email='"><script>x()</script>@example.com'))
    html = signed_in.get("/settings").text
    assert "<script>x()" not in html
