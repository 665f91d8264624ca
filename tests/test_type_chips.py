"""The chip naming an inbox item's type: the described label, else the slug; none for
untyped notifications, one for a broadcast; the admin compose form's kinds alike."""

import json
import re

from test_inbox_page import send

from notifier.model.types import TypeInfo, chip_of

from conftest import sign_in


def chips_of(html: str, note_id: str) -> list[str]:
    item = html.split(f'id="n-{note_id}"', 1)[1].split("</li>", 1)[0]
    meta = item.split('class="note-meta"', 1)[1].split("<time", 1)[0]
    return re.findall(r'<span class="tag[^"]*"[^>]*>([^<]*)</span>', meta)


def test_chip_rules():
    catalog = {"security": TypeInfo(type="security", label="Security alerts"),
               "maintenance": TypeInfo(type="maintenance", label="Planned work")}
    assert chip_of(catalog, "security", "direct") == "Security alerts"
    assert chip_of(catalog, "ci", "group") == "ci"
    assert chip_of(catalog, "general", "direct") is None
    assert chip_of(catalog, "system", "broadcast") == "Announcement"
    assert chip_of(catalog, "maintenance", "broadcast") == "Planned work"
    assert chip_of({}, "maintenance", "broadcast") == "Maintenance"
    assert chip_of({}, "release", "broadcast") == "release"


def test_the_inbox_names_types_by_label_and_untyped_ones_not_at_all(signed_in, auth, store):
    store.types.put(TypeInfo(type="security", label="Security alerts"))
    labelled = send(signed_in, auth, "alice", type="security")
    plain = send(signed_in, auth, "alice", type="ci", priority="high")
    untyped = send(signed_in, auth, "alice")
    made = signed_in.post("/api/v1/broadcasts", headers=auth,
                          data=json.dumps({"title": "Hi all"}))
    broadcast = made.json["broadcast"]["id"]
    html = signed_in.get("/inbox").text
    assert chips_of(html, labelled) == ["Security alerts"]
    assert chips_of(html, plain) == ["ci", "High"]
    assert chips_of(html, untyped) == []
    assert chips_of(html, broadcast) == ["Announcement"]
    assert 'data-type-chip>general<' not in html  # (the type filter may offer it)
    # The page's script names live items the same way.
    data = json.loads(html.split('<script type="application/json" id="type-chips">', 1)[1]
                      .split("</script>", 1)[0])
    assert data == {"labels": {"security": "Security alerts"}, "untyped": "general",
                    "broadcast": {"system": "Announcement", "maintenance": "Maintenance"}}


def test_the_compose_forms_kinds_are_the_inboxs_names(app, store):
    store.accounts.create("root", "correct horse battery", admin=True)
    admin_client = app.test_client()
    assert sign_in(admin_client, "root", "correct horse battery").status_code == 302
    store.types.put(TypeInfo(type="release", label="Release notes"))
    store.types.put(TypeInfo(type="maintenance", label="Planned work"))
    html = admin_client.get("/admin/broadcasts").text
    select = html.split('id="type"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]+)</option>', select) == [
        ("system", "Announcement"), ("maintenance", "Planned work"),
        ("release", "Release notes")]
