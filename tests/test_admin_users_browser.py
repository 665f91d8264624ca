"""The console's Users page in a real headless Chromium: an invite link and its use,
disabling a signed-in user, and a password reset link."""

import pytest
from playwright.sync_api import expect
from test_admin_browser import PASSWORD, people, sign_in_to, watch_csp

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_invite_a_user_then_they_set_a_password(browser, live_server, store):
    people(store)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = watch_csp(page)
    invitee = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        sign_in_to(page, live_server.url, "/admin/users", "root")
        panel = page.locator("#create-user")
        expect(panel.get_by_role("heading", name="Create a user")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "admin-users-create.png", full_page=True)
        panel.get_by_label("Username").fill("new.hire")
        panel.get_by_label("Make admin").check()
        panel.get_by_label("Make admin").uncheck()
        panel.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("heading", name="Invite link for new.hire")).to_be_visible()
        link = page.locator("#user-link").input_value()
        assert "/invite/" in link
        page.screenshot(path=ARTIFACTS / "admin-users-invite-link.png", full_page=True)

        page.get_by_role("link", name="Done: back to Users").click()
        row = page.locator("tr", has_text="new.hire")
        expect(row).to_contain_text("No password yet")
        page.screenshot(path=ARTIFACTS / "admin-users-after-invite.png", full_page=True)

        person = invitee.new_page()
        person.goto(live_server.url + "/invite/" + link.rsplit("/", 1)[1])
        expect(person.get_by_role("heading", name="Welcome")).to_be_visible()
        person.screenshot(path=ARTIFACTS / "invite-page.png", full_page=True)
        person.get_by_label("New password").fill("my own long password")
        person.get_by_label("Repeat password").fill("my own long password")
        person.get_by_role("button", name="Set password and sign in").click()
        person.wait_for_url(f"{live_server.url}/inbox")
        expect(person.get_by_text("Your password is set.")).to_be_visible()
        person.goto(live_server.url + "/invite/" + link.rsplit("/", 1)[1])
        expect(person.get_by_role("heading", name="This link has expired")).to_be_visible()
        person.screenshot(path=ARTIFACTS / "invite-page-used.png", full_page=True)

        page.goto(f"{live_server.url}/admin/users?q=alice")
        page.get_by_role("button", name="Reset password of alice").click()
        expect(page.get_by_role("heading", name="Password reset link for alice")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "admin-users-reset-link.png", full_page=True)
        assert store.accounts.authenticate("alice", PASSWORD) is not None
        assert errors == []
    finally:
        invitee.close()
        context.close()


def test_disable_then_reset_a_user_from_the_console(browser, live_server, store):
    """An admin disables a signed-in user (the user's session ends), enables the account
    again and hands over a reset link, which sets a new password."""
    people(store)
    admin = browser.new_context(viewport={"width": 1280, "height": 860})
    user = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = admin.new_page()
        page.set_default_timeout(10_000)
        errors = watch_csp(page)
        alice = user.new_page()
        alice.set_default_timeout(10_000)
        sign_in_to(alice, live_server.url, "/inbox", "alice")

        sign_in_to(page, live_server.url, "/admin/users?q=alice", "root")
        page.get_by_role("button", name="Disable alice").click()
        expect(page.get_by_text("alice is disabled and was signed out everywhere.")).to_be_visible()
        expect(page.locator("tr", has_text="alice")).to_contain_text("Disabled")
        page.screenshot(path=ARTIFACTS / "admin-users-disabled.png", full_page=True)
        alice.reload()
        alice.wait_for_url(f"{live_server.url}/login?next=*")
        alice.get_by_label("Username").fill("alice")
        alice.get_by_label("Password").fill(PASSWORD)
        alice.get_by_role("button", name="Sign in").click()
        expect(alice.get_by_text("Wrong username or password.")).to_be_visible()
        alice.screenshot(path=ARTIFACTS / "sign-in-disabled.png", full_page=True)
        assert alice.url.startswith(f"{live_server.url}/login")  # refused
        alice.goto(f"{live_server.url}/inbox")
        alice.wait_for_url(f"{live_server.url}/login?next=*")

        page.get_by_role("button", name="Enable alice").click()
        expect(page.get_by_text("alice can sign in again.")).to_be_visible()
        page.get_by_role("button", name="Reset password of alice").click()
        link = page.locator("#user-link").input_value()
        alice.goto(live_server.url + "/invite/" + link.rsplit("/", 1)[1])
        alice.get_by_label("New password").fill("a brand new password")
        alice.get_by_label("Repeat password").fill("a brand new password")
        alice.get_by_role("button", name="Set password and sign in").click()
        alice.wait_for_url(f"{live_server.url}/inbox")
        assert store.accounts.authenticate("alice", PASSWORD) is None
        assert store.accounts.authenticate("alice", "a brand new password") is not None
        assert errors == []
    finally:
        admin.close()
        user.close()
