"""The inbox page's filters and search: what each shows, links that keep them, bad input."""

import json
import re

import pytest


def send(client, auth, user_id, title, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": user_id, "title": title, **fields}))
    assert response.status_code == 201
    return response.json["notifications"][0]["id"]


def shown(html: str) -> list[str]:
    found = re.findall(r'<h2 class="note-title">\s*(?:<a [^>]*>)?([^<]+)', html)
    return [title.strip() for title in found]


@pytest.fixture
def inbox(signed_in, auth):
    send(signed_in, auth, "alice", "Deploy failed", type="ci", priority="urgent",
         body="main is red")
    merged = send(signed_in, auth, "alice", "PR merged", type="review", body="into main")
    send(signed_in, auth, "alice", "Weekly digest", type="digest", priority="low")
    signed_in.post("/api/v1/users/alice/notifications/read", headers=auth,
                   data=json.dumps({"ids": [merged]}))
    return signed_in


def test_each_filter_narrows_the_list(inbox):
    assert shown(inbox.get("/inbox").text) == ["Weekly digest", "PR merged", "Deploy failed"]
    assert shown(inbox.get("/inbox?type=ci").text) == ["Deploy failed"]
    assert shown(inbox.get("/inbox?priority=low").text) == ["Weekly digest"]
    assert shown(inbox.get("/inbox?read=1").text) == ["PR merged"]
    assert shown(inbox.get("/inbox?unread=1").text) == ["Weekly digest", "Deploy failed"]
    assert shown(inbox.get("/inbox?q=MAIN").text) == ["PR merged", "Deploy failed"]
    assert shown(inbox.get("/inbox?q=main&unread=1").text) == ["Deploy failed"]
    empty = inbox.get("/inbox?q=nothing+like+it").text
    assert shown(empty) == [] and "No notifications match" in empty


def test_the_form_shows_the_filter_and_links_keep_it(inbox):
    page = inbox.get("/inbox?type=ci&q=main&unread=1").text
    assert 'value="main"' in page and '<option value="ci" selected>' in page
    assert 'name="unread" value="1"' in page  # the form keeps the read state
    read_link = re.search(r'href="([^"]*read=1[^"]*)"', page.replace("unread=1", "UNREAD")).group(1)
    assert "type=ci" in read_link and "q=main" in read_link
    assert "Clear" in page
    assert "Clear" not in inbox.get("/inbox?unread=1").text


def test_pager_links_keep_the_filter(inbox, auth):
    for i in range(30):
        send(inbox, auth, "alice", f"ci run {i}", type="ci")
    page = inbox.get("/inbox?type=ci").text
    older = re.search(r'href="(/inbox\?[^"]*before=[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "type=ci" in older
    rest = shown(inbox.get(older).text)
    assert rest and all(t.startswith("ci run") or t == "Deploy failed" for t in rest)


@pytest.mark.parametrize("query", ["type=CI", "priority=loud", "read=2", "read=1&unread=1",
                                   "q=" + "x" * 201])
def test_a_bad_filter_is_a_400_page(inbox, query):
    assert inbox.get(f"/inbox?{query}").status_code == 400


def test_the_bulk_form_marks_read_and_deletes_without_script(inbox, store):
    ids = [n.id for n in store.inbox.page("alice", limit=10)[0]]
    token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.get("/inbox").text).group(1)
    done = inbox.post("/inbox/bulk", data={"csrf_token": token, "op": "read", "id": ids[:2],
                                           "next": "/inbox?type=ci"})
    assert done.status_code == 302 and done.headers["Location"] == "/inbox?type=ci"
    assert store.inbox.unread_count("alice") == 1
    inbox.post("/inbox/bulk", data={"csrf_token": token, "op": "delete", "id": ids[1:]})
    assert [n.id for n in store.inbox.page("alice", limit=10)[0]] == ids[:1]
    for bad in ({"op": "explode", "id": ids[:1]}, {"op": "read", "id": ["nope"]}):
        assert inbox.post("/inbox/bulk", data={"csrf_token": token, **bad}).status_code == 400
