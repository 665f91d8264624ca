"""Snooze on the inbox page without script (per item, in bulk, the Snoozed view and
bringing items back), and the menu's times in the user's time zone."""

import json
import re
from datetime import UTC, datetime

import pytest

from notifier.model.preferences import Preferences
from notifier.model.snooze_times import snooze_until

from conftest import csrf_from


def send(client, auth, title):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": "alice", "title": title}))
    return response.json["notifications"][0]["id"]


def shown(html: str) -> list[str]:
    found = re.findall(r'<h2 class="note-title">\s*(?:<a [^>]*>)?([^<]+)', html)
    return [title.strip() for title in found]


@pytest.mark.parametrize("choice, now, zone, expected", [
    ("hour", "2026-03-04T10:15:00+00:00", "UTC", "2026-03-04T11:15:00+00:00"),
    ("tomorrow", "2026-03-04T23:30:00+00:00", "Europe/Berlin", "2026-03-06T09:00:00+01:00"),
    ("tomorrow", "2026-03-04T23:30:00+00:00", "UTC", "2026-03-05T09:00:00+00:00"),
    ("week", "2026-03-04T10:00:00+00:00", "America/New_York", "2026-03-09T09:00:00-04:00"),
    ("week", "2026-03-09T08:00:00+00:00", "UTC", "2026-03-16T09:00:00+00:00"),  # a Monday
])
def test_the_menus_times(choice, now, zone, expected):
    until = snooze_until(choice, datetime.fromisoformat(now), zone)
    assert until == datetime.fromisoformat(expected)


def test_snooze_one_and_many_then_bring_back(signed_in, auth, store):
    store.preferences.save("alice", Preferences(timezone="Europe/Berlin"))
    ids = [send(signed_in, auth, f"Item {i}") for i in range(4)]
    page = signed_in.get("/inbox").text
    assert f'action="/inbox/{ids[0]}/snooze"' in page and "Tomorrow 9:00" in page
    token = csrf_from(page)
    done = signed_in.post(f"/inbox/{ids[0]}/snooze", data={"csrf_token": token,
                                                           "for": "tomorrow", "next": "/inbox"})
    assert done.status_code == 302
    signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "snooze:week",
                                        "id": [ids[1], ids[2]]})
    assert shown(signed_in.get("/inbox").text) == ["Item 3"]
    assert store.inbox.unread_count("alice") == 1
    until = store.inbox.snoozed_until("alice", ids)
    tomorrow = datetime.fromtimestamp(until[ids[0]] / 1000, UTC)
    assert tomorrow > datetime.now(UTC) and tomorrow.minute == 0
    assert until[ids[1]] == until[ids[2]] > until[ids[0]]
    snoozed = signed_in.get("/inbox?snoozed=1").text
    assert shown(snoozed) == ["Item 2", "Item 1", "Item 0"]
    assert "Back <time" in snoozed and " 09:00</time>" in snoozed  # Berlin time
    assert f'action="/inbox/{ids[0]}/unsnooze"' in snoozed
    assert "/snooze\"" not in snoozed and "/archive\"" not in snoozed
    views = re.search(r'<nav class="view-tabs".*?</nav>', snoozed, re.S).group(0)
    tabs = re.findall(r'<a href="([^"]+)" aria-current="page">', views)
    assert tabs == ["/inbox?snoozed=1"]  # the one current view
    signed_in.post(f"/inbox/{ids[0]}/unsnooze", data={"csrf_token": token})
    signed_in.post("/inbox/bulk", data={"csrf_token": token, "op": "unsnooze", "id": [ids[2]]})
    assert shown(signed_in.get("/inbox").text) == ["Item 3", "Item 2", "Item 0"]
    assert store.inbox.unread_count("alice") == 3
    assert shown(signed_in.get("/inbox?snoozed=1").text) == ["Item 1"]


@pytest.mark.parametrize("path, form", [
    ("/inbox/1-0/snooze", {"for": "forever"}),
    ("/inbox/1-0/snooze", {}),
    ("/inbox/b1-0/snooze", {"for": "hour"}),
    ("/inbox/nope/unsnooze", {}),
    ("/inbox/bulk", {"op": "snooze:never", "id": ["1-0"]}),
    ("/inbox/bulk", {"op": "snooze", "id": ["1-0"]}),
])
def test_bad_input_is_400(signed_in, path, form):
    token = csrf_from(signed_in.get("/inbox").text)
    assert signed_in.post(path, data={"csrf_token": token, **form}).status_code == 400
