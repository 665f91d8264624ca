"""The settings page through Flask's test client: CSRF, saving, errors beside fields,
only the channels this server delivers to, and described types by their labels."""

import pytest

from notifier import create_app
from notifier.model.preferences import Preferences
from notifier.model.requests import SendRequest
from notifier.model.types import TypeInfo

from conftest import app_config, csrf_from

#: Settings that turn every delivery channel on.
EVERY_CHANNEL = {"WEBPUSH_SUBJECT": "mailto:ops@example.com", "SMTP_HOST": "127.0.0.1",
                 "FCM_CREDENTIALS": "/nonexistent/fcm.json", "SMS_ACCOUNT_SID": "AC1",
                 "SMS_AUTH_TOKEN": "secret", "SMS_FROM": "+15005550006"}


@pytest.fixture
def app(redis_server, redis_client, tmp_path, monkeypatch, request):
    """The app with every channel configured, or with the settings a test parametrizes
    it with (indirectly)."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    extra = getattr(request, "param", EVERY_CHANNEL)
    return create_app(app_config(redis_server.url, **extra))


#: The test runs on an app with no delivery channel configured.
BARE = pytest.mark.parametrize("app", [{}], indirect=True, ids=["bare"])
#: The test runs on an app that delivers to browsers only.
WEB_ONLY = pytest.mark.parametrize("app", [{"WEBPUSH_SUBJECT": "mailto:ops@example.com"}],
                                   indirect=True, ids=["web-only"])


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


@BARE
def test_only_the_channels_this_server_delivers_to_are_shown(signed_in, store):
    store.inbox.send([SendRequest(user_id="x", title="t", type="ci")], [("x", 0)])
    store.preferences.save("alice", Preferences(
        email="kept@example.com", switches={("*", "email"): False, ("ci", "sms"): True}))
    html = signed_in.get("/settings").text
    assert 'name="ch:*:in_app"' in html and 'name="ch:ci:in_app"' in html
    for hidden in ("Email", "Browser push", "Mobile push", "SMS"):
        assert f">{hidden}</th>" not in html
    assert "ch:ci:email" not in html and "ch:*:sms" not in html
    assert 'name="email"' not in html and 'name="phone"' not in html
    assert 'id="devices"' not in html and "mobile app" not in html
    assert "delivers to your inbox only" in html
    data = form_of(html, rows=["ci"])
    data["ch:*:in_app"] = "1"  # ci's in_app switched off
    assert signed_in.post("/settings", data=data).status_code == 302
    prefs = store.preferences.load("alice")
    # What the page did not show is kept as it was.
    assert prefs.email == "kept@example.com"
    assert prefs.switches == {("*", "in_app"): True, ("*", "email"): False,
                              ("ci", "sms"): True, ("ci", "in_app"): False}


@WEB_ONLY
def test_the_devices_panel_speaks_of_phones_only_when_they_are_pushed_to(signed_in):
    html = signed_in.get("/settings").text
    assert 'id="devices"' in html and "Enable browser notifications here." in html
    assert "mobile app" not in html and "phones" not in html
    assert ">Browser push</th>" in html and ">Mobile push</th>" not in html


def test_described_types_show_by_label_under_their_categories(signed_in, store):
    store.inbox.send([SendRequest(user_id="x", title="t", type="ci")], [("x", 0)])
    store.types.put(TypeInfo(type="security", label="Security alerts",
                             description="Sign-ins from new devices.", category="Account",
                             default_channels=("in_app", "email"), user_can_disable=False))
    store.types.put(TypeInfo(type="billing", label="Invoices", category="Account",
                             default_channels=("email",)))
    html = signed_in.get("/settings").text
    assert '<th scope="colgroup" colspan="6">Account</th>' in html
    assert '<th scope="colgroup" colspan="6">Other</th>' in html
    # Account (Invoices, Security alerts), then Other (ci): labels, descriptions.
    assert html.index("Invoices") < html.index("Security alerts") < html.index(">ci<")
    assert "Sign-ins from new devices." in html
    assert ">security<" not in html
    # Invoices: email only; security: in-app and email locked on.
    assert 'name="ch:billing:in_app" value="1" data-channel="in_app" >' in html
    assert 'name="ch:billing:email" value="1" data-channel="email" checked' in html
    assert 'disabled data-locked title="Always on: this kind cannot be turned off" ' \
        'data-channel="email" checked' in html
    assert html.count('data-locked') == 2
    assert '<input type="hidden" name="ch:security:email" value="1">' in html


def test_a_locked_switch_cannot_be_saved_off_and_the_rest_saves_as_shown(signed_in, store):
    store.types.put(TypeInfo(type="security", label="Security alerts",
                             default_channels=("in_app", "email"), user_can_disable=False))
    store.types.put(TypeInfo(type="billing", label="Invoices", default_channels=("email",)))
    html = signed_in.get("/settings").text
    data = form_of(html, rows=["billing", "security"])
    for channel in ("in_app", "web_push", "email", "mobile_push"):
        data[f"ch:*:{channel}"] = "1"
    data["ch:billing:email"] = "1"
    refused = signed_in.post("/settings", data=data)  # security's locked switches left out
    assert refused.status_code == 422
    assert "Security alerts cannot be turned off for Email." in refused.text
    assert store.preferences.load("alice").switches == {}
    data["ch:security:in_app"] = data["ch:security:email"] = "1"
    data["ch:billing:sms"] = "1"  # the one change to invoices
    assert signed_in.post("/settings", data=data).status_code == 302
    prefs = store.preferences.load("alice")
    # Invoices keep following their own defaults; only the SMS switch is stored.
    assert {k: v for k, v in prefs.switches.items() if k[0] != "*"} == {
        ("billing", "sms"): True}
    assert [c for c in ("in_app", "web_push", "email", "mobile_push", "sms")
            if prefs.enabled("billing", c)] == ["email", "sms"]
