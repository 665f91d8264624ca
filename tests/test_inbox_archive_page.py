"""Archive on the inbox page without script: per item and in bulk, the Archived view
with Restore, and bad input."""

import json
import re

from conftest import csrf_from


def send(client, auth, title, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": "alice", "title": title, **fields}))
    assert response.status_code == 201
    return response.json["notifications"][0]["id"]


def shown(html: str) -> list[str]:
    found = re.findall(r'<h2 class="note-title">\s*(?:<a [^>]*>)?([^<]+)', html)
    return [title.strip() for title in found]


def test_archive_one_and_many_then_restore_from_the_archived_view(signed_in, auth, store):
    ids = [send(signed_in, auth, f"Item {i}", type="ci" if i % 2 else "general")
           for i in range(4)]
    page = signed_in.get("/inbox").text
    assert f'action="/inbox/{ids[0]}/archive"' in page and "Archived" in page
    token = csrf_from(page)
    done = signed_in.post(f"/inbox/{ids[0]}/archive",
                          data={"csrf_token": token, "next": "/inbox?type=ci"})
    assert done.status_code == 302 and done.headers["Location"] == "/inbox?type=ci"
    signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "archive",
                                        "id": [ids[1], ids[2]]})
    assert shown(signed_in.get("/inbox").text) == ["Item 3"]
    assert store.inbox.unread_count("alice") == 1  # archiving reads
    archived = signed_in.get("/inbox?archived=1").text
    assert shown(archived) == ["Item 2", "Item 1", "Item 0"]
    assert f'action="/inbox/{ids[0]}/restore"' in archived
    assert "/archive\"" not in archived and "Mark all read" not in archived
    assert shown(signed_in.get("/inbox?archived=1&type=ci").text) == ["Item 1"]
    signed_in.post(f"/inbox/{ids[0]}/restore", data={"csrf_token": token})
    signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "restore", "id": [ids[2]]})
    assert shown(signed_in.get("/inbox").text) == ["Item 3", "Item 2", "Item 0"]
    assert shown(signed_in.get("/inbox?archived=1").text) == ["Item 1"]
    empty = signed_in.get("/inbox?archived=1&q=nothing").text
    assert "No archived notifications match" in empty


def test_broadcasts_have_no_archive_and_bad_ids_are_400(signed_in, auth):
    made = signed_in.post("/api/v1/broadcasts", headers=auth,
                          data=json.dumps({"title": "Maintenance tonight"}))
    assert made.status_code == 201, made.json
    send(signed_in, auth, "Own item")
    page = signed_in.get("/inbox").text
    assert shown(page) == ["Own item", "Maintenance tonight"]
    assert page.count('/archive"') == 1  # the own item's form only
    token = csrf_from(page)
    for path in ("/inbox/nope/archive", "/inbox/b1-0/archive", "/inbox/1-x/restore"):
        assert signed_in.post(path, data={"csrf_token": token}).status_code == 400
    assert signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "archive",
                                               "id": ["bad"]}).status_code == 400
