"""An API key's allowed widget origins: set in the admin console and with the CLI."""

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, csrf_from, sign_in

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_client(app, store):
    store.accounts.create("root", PASSWORD, admin=True)
    client = app.test_client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    return client


def save(client, key_id, text, csrf=None):
    page = client.get(f"/admin/api-keys/{key_id}/origins").text
    return client.post(f"/admin/api-keys/{key_id}/origins",
                       data={"csrf_token": csrf or csrf_from(page), "origins": text})


def test_origins_are_set_one_a_line_and_listed(admin_client, store):
    key, _ = store.api_keys.create("acme")
    listing = admin_client.get("/admin/api-keys").text
    assert "Widget: this site only" in listing
    assert f'href="/admin/api-keys/{key.key_id}/origins"' in listing
    response = save(admin_client, key.key_id,
                    "https://App.Example.com:443\r\n\r\n  http://localhost:5001  \r\n"
                    "https://app.example.com\r\n")
    assert response.status_code == 302
    assert store.api_keys.get(key.key_id).origins == ("https://app.example.com",
                                                      "http://localhost:5001")
    listing = admin_client.get("/admin/api-keys").text
    assert "now has 2 allowed origins" in listing
    assert "Widget: https://app.example.com, http://localhost:5001" in listing
    form = admin_client.get(f"/admin/api-keys/{key.key_id}/origins").text
    assert "https://app.example.com\nhttp://localhost:5001</textarea>" in form
    assert save(admin_client, key.key_id, "").status_code == 302
    assert store.api_keys.get(key.key_id).origins == ()


def test_one_bad_line_changes_nothing_and_says_which(admin_client, store):
    key, _ = store.api_keys.create("acme", origins=["https://app.example.com"])
    response = save(admin_client, key.key_id,
                    "https://ok.example\nhttps://bad.example/path\n<script>x</script>")
    assert response.status_code == 422
    assert "&#39;https://bad.example/path&#39; must be an origin only" in response.text
    assert 'aria-invalid="true"' in response.text
    assert "<script>x</script>" not in response.text  # kept in the form, escaped
    assert store.api_keys.get(key.key_id).origins == ("https://app.example.com",)
    too_many = "\n".join(f"https://h{i}.example" for i in range(51))
    assert "at most 50 origins" in save(admin_client, key.key_id, too_many).text


def test_unknown_or_revoked_keys_and_missing_csrf(admin_client, store):
    key, _ = store.api_keys.create("old")
    store.api_keys.revoke(key.key_id)
    assert admin_client.get(f"/admin/api-keys/{key.key_id}/origins").status_code == 404
    assert admin_client.get("/admin/api-keys/0123456789abcdef/origins").status_code == 404
    live, _ = store.api_keys.create("live")
    refused = admin_client.post(f"/admin/api-keys/{live.key_id}/origins",
                                data={"origins": "https://a.example"})
    assert refused.status_code == 400
    assert store.api_keys.get(live.key_id).origins == ()


def test_the_cli_creates_keys_with_origins_and_changes_them(app, store):
    runner = app.test_cli_runner()

    def cli(args):
        with app.app_context():  # as the notifier command's FlaskGroup provides
            return runner.invoke(args=args)

    made = cli(["api-keys", "create", "acme", "--origin", "https://a.example",
                "--origin", "HTTP://LOCALHOST:5001"])
    assert made.exit_code == 0, made.output
    key = store.api_keys.list()[-1]
    assert key.origins == ("https://a.example", "http://localhost:5001")
    listed = cli(["api-keys", "list"])
    assert "https://a.example http://localhost:5001" in listed.output
    changed = cli(["api-keys", "set-origins", key.key_id, "https://b.example"])
    assert changed.exit_code == 0 and store.api_keys.get(key.key_id).origins == (
        "https://b.example",)
    bad = cli(["api-keys", "set-origins", key.key_id, "https://b.example/x"])
    assert bad.exit_code != 0 and "no path" in bad.output
    assert store.api_keys.get(key.key_id).origins == ("https://b.example",)
    assert cli(["api-keys", "set-origins", key.key_id]).exit_code == 0
    assert store.api_keys.get(key.key_id).origins == ()
    unknown = cli(["api-keys", "set-origins", "0123456789abcdef", "https://a.b"])
    assert unknown.exit_code != 0 and "no API key" in unknown.output
    refused = cli(["api-keys", "create", "x", "--origin", "*"])
    assert refused.exit_code != 0 and len(store.api_keys.list()) == 1


@pytest.mark.browser
def test_the_origins_page_in_a_browser(browser, live_server, store):
    store.accounts.create("root", PASSWORD, admin=True)
    key, _ = store.api_keys.create("acme-dashboard", origins=["https://app.acme.example"])
    store.api_keys.create("billing-service")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/login?next=/admin/api-keys")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/admin/api-keys")
        page.screenshot(path=ARTIFACTS / "admin-api-keys-origins-list.png", full_page=True)
        page.get_by_role("link", name="Edit widget origins of acme-dashboard").click()
        field = page.get_by_label("Allowed origins")
        expect(field).to_have_value("https://app.acme.example")
        field.fill("https://app.acme.example\nhttps://staging.acme.example/")
        page.get_by_role("button", name="Save origins").click()
        expect(page.locator(".field-message")).to_contain_text("must be an origin only")
        page.screenshot(path=ARTIFACTS / "admin-api-key-origins-error.png", full_page=True)
        field.fill("https://app.acme.example\nhttps://staging.acme.example")
        page.get_by_role("button", name="Save origins").click()
        expect(page.get_by_text("now has 2 allowed origins")).to_be_visible()
        assert store.api_keys.get(key.key_id).origins == ("https://app.acme.example",
                                                          "https://staging.acme.example")
    finally:
        context.close()
