"""Threads on the inbox page as the server renders it (no script): one row per thread on
the page, its older items under it, and the form that reads the whole thread. Also the
rows themselves, from a list."""

import re

from notifier.model.notification import Notification
from notifier.model.threads import thread_rows

from conftest import csrf_from


def item(id, thread=None, read=False):
    return Notification(
        id=id,
        user_id="u",
        type="general",
        title=id,
        body="",
        data={},
        priority="normal",
        link=None,
        created_at="2026-01-01T00:00:00Z",
        expires_at=None,
        read=read,
        thread=thread,
    )


def test_rows_gather_a_thread_under_its_newest_item_wherever_its_items_are():
    items = [
        item("9-0", "a"),
        item("8-0"),
        item("7-0", "b"),
        item("6-0", "a", read=True),
        item("5-0", "b"),
        item("4-0"),
        item("3-0", "a"),
    ]
    rows = thread_rows(items)
    assert [(r.head.id, [o.id for o in r.others]) for r in rows] == [
        ("9-0", ["6-0", "3-0"]),
        ("8-0", []),
        ("7-0", ["5-0"]),
        ("4-0", []),
    ]
    assert [(r.count, r.unread) for r in rows] == [(3, 2), (1, 1), (2, 2), (1, 1)]
    assert thread_rows([]) == []


def send(client, auth, title, **fields):
    response = client.post(
        "/api/v1/notifications", headers=auth, json={"user_id": "alice", "title": title, **fields}
    )
    assert response.status_code == 201, response.json
    return response.json["notifications"][0]["id"]


def test_the_page_shows_a_thread_as_one_row_with_its_counts(signed_in, auth):
    first = send(signed_in, auth, "Comment 1", thread="pr-4411")
    other = send(signed_in, auth, "Build passed")
    second = send(signed_in, auth, "Comment 2", thread="pr-4411")
    third = send(signed_in, auth, "Comment 3", thread="pr-4411")
    send(signed_in, auth, "Alone in its thread", thread="pr-1")
    signed_in.post("/api/v1/users/alice/notifications/read", headers=auth, json={"ids": [first]})
    page = signed_in.get("/inbox").text
    assert page.count("data-thread-count") == 1
    assert "3 in thread · 2 unread" in page
    assert f'aria-expanded="false" aria-controls="thread-{third}"' in page
    assert "Show 2 earlier" in page
    nested = re.search(
        rf'<ol class="thread-items" id="thread-{third}"[^>]*hidden>(.*?)</ol>', page, re.S
    )
    assert nested, "the older items are listed under the newest, hidden"
    assert re.findall(r'id="n-([^"]+)"', nested.group(1)) == [second, first]
    outside = page.replace(nested.group(0), "")
    assert outside.index(f'id="n-{third}"') < outside.index(f'id="n-{other}"')
    # The row's read button reads the thread; a thread of one is an ordinary row.
    assert 'action="/inbox/thread/read" data-thread-read' in page
    assert 'name="thread" value="pr-4411"' in page
    assert 'value="pr-1"' not in page and 'data-thread="pr-1"' in page


def test_other_views_list_a_threads_items_one_by_one(signed_in, auth):
    ids = [send(signed_in, auth, f"Comment {i}", thread="pr-7") for i in range(2)]
    token = csrf_from(signed_in.get("/inbox").text)
    signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "archive", "id": ids})
    page = signed_in.get("/inbox?archived=1").text
    assert "data-thread-count" not in page and "thread-items" not in page
    assert page.count('data-thread="pr-7"') == 2


def test_the_form_reads_the_whole_thread(signed_in, auth, store):
    ids = [send(signed_in, auth, f"Comment {i}", thread="pr-4411") for i in range(3)]
    send(signed_in, auth, "Build passed")
    token = csrf_from(signed_in.get("/inbox").text)
    response = signed_in.post(
        "/inbox/thread/read", data={"thread": "pr-4411", "csrf_token": token, "next": "/inbox"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert store.inbox.unread_count("alice") == 1
    page = signed_in.get("/inbox").text
    assert "3 in thread<" in page and "data-thread-read" not in page
    fetched = signed_in.post(
        "/inbox/thread/read",
        data={"thread": "pr-4411", "csrf_token": token},
        headers={"X-Requested-With": "fetch"},
    )
    assert fetched.status_code == 204 and ids
    for bad in ("", "-x", "a b", "x" * 101):
        refused = signed_in.post("/inbox/thread/read", data={"thread": bad, "csrf_token": token})
        assert refused.status_code == 400
    assert signed_in.post("/inbox/thread/read", data={"csrf_token": token}).status_code == 400
    assert (
        signed_in.post("/inbox/thread/read", data={"thread": "pr-4411"}).status_code == 400
    )  # no CSRF token
