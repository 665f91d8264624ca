"""Admin console, Types: describe, edit and forget notification types."""

import pytest

from notifier.model.types import TypeInfo

from conftest import csrf_from, sign_in


@pytest.fixture
def admin_client(app, store):
    store.accounts.create("root", "correct horse battery", admin=True)
    client = app.test_client()
    assert sign_in(client, "root", "correct horse battery").status_code == 302
    return client


def form(client, **fields):
    data = {"csrf_token": csrf_from(client.get("/admin/types").text), "type": "security",
            "label": "Security alerts", "description": "", "category": "", "defaults": "row",
            "user_can_disable": "y"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_describe_list_edit_and_forget(admin_client, store):
    page = admin_client.get("/admin/types")
    assert page.status_code == 200 and "No types described yet" in page.text
    saved = admin_client.post("/admin/types", data=form(
        admin_client, description="Sign-ins from new devices.", category="Account",
        defaults="own", default_channels=["email", "in_app"], user_can_disable=None))
    assert saved.status_code == 302
    info = store.types.get("security")
    assert (info.label, info.category, info.default_channels, info.user_can_disable) == (
        "Security alerts", "Account", ("in_app", "email"), False)
    listed = admin_client.get("/admin/types").text
    assert "Security alerts" in listed and "Always on" in listed
    assert "Sign-ins from new devices." in listed
    edit = admin_client.get("/admin/types/security").text
    assert 'value="Security alerts"' in edit and "readonly" in edit
    assert 'checked id="default_channels-2"' in edit  # email
    assert 'checked id="default_channels-4"' not in edit  # sms
    # Saved again following the default row, and users may turn it off.
    assert admin_client.post("/admin/types", data=form(
        admin_client, label="Security", default_channels=["email"])).status_code == 302
    info = store.types.get("security")
    assert (info.label, info.default_channels, info.user_can_disable) == (
        "Security", None, True)
    token = csrf_from(admin_client.get("/admin/types").text)
    forgot = admin_client.post("/admin/types/security/delete", data={"csrf_token": token})
    assert forgot.status_code == 302 and store.types.get("security") is None
    again = admin_client.post("/admin/types/security/delete", data={"csrf_token": token})
    assert again.status_code == 404
    assert admin_client.get("/admin/types/security").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"type": "Bad Name"}, "Lowercase letters, digits and _ . - only"),
    ({"label": ""}, "Enter a label."),
    ({"label": "x" * 81}, "At most 80 characters."),
    ({"description": "x" * 301}, "At most 300 characters."),
    ({"category": "x" * 41}, "At most 40 characters."),
    ({"defaults": "own", "default_channels": ["fax"]}, "Input should be"),
])
def test_bad_fields_are_shown_beside_them_and_nothing_is_saved(admin_client, store, fields,
                                                               message):
    response = admin_client.post("/admin/types", data=form(admin_client, **fields))
    assert response.status_code == 422
    assert message in response.text
    assert store.types.all() == {}


def test_without_a_csrf_token_nothing_is_saved(admin_client, store):
    data = form(admin_client)
    del data["csrf_token"]
    assert admin_client.post("/admin/types", data=data).status_code == 400
    store.types.put(TypeInfo(type="ci", label="Builds"))
    assert admin_client.post("/admin/types/ci/delete").status_code == 400
    assert store.types.get("ci") is not None


def test_labels_are_escaped(admin_client, store):
    store.types.put(TypeInfo(type="x", label="<script>x()</script>"))
    html = admin_client.get("/admin/types").text
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html
