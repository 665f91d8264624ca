"""Filtering and searching a feed through the service and widget APIs: types, priorities,
read state, words in titles and bodies, paging, broadcasts, bad arguments, the bound."""

import json

import pytest

from notifier import create_app
from notifier.backend import backend
from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, app_config

KEYS = Keys(TEST_PREFIX)

ME = "/api/v1/me"


def send(client, auth, user_id, title, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": user_id, "title": title, **fields}))
    assert response.status_code == 201, response.json
    return response.json["notifications"][0]["id"]


def titles(client, auth, user_id="ann", **query):
    response = client.get(f"/api/v1/users/{user_id}/notifications", headers=auth,
                          query_string=query)
    assert response.status_code == 200, response.json
    return [n["title"] for n in response.json["notifications"]]


@pytest.fixture
def mixed(client, auth):
    """Ann's inbox, oldest first: three types, four priorities, one read."""
    ids = {
        "Deploy failed": send(client, auth, "ann", "Deploy failed", type="ci",
                              priority="urgent", body="Pipeline #88 broke on main"),
        "PR merged": send(client, auth, "ann", "PR merged", type="review",
                          body="Your pull request to Main was merged"),
        "New comment": send(client, auth, "ann", "New comment", type="review",
                            priority="high", body="Looks good to me"),
        "Weekly digest": send(client, auth, "ann", "Weekly digest", type="digest",
                              priority="low", body="Ten things happened"),
    }
    send(client, auth, "bob", "Deploy failed for Bob", type="ci")
    client.post("/api/v1/users/ann/notifications/read", headers=auth,
                data=json.dumps({"ids": [ids["PR merged"]]}))
    return ids


def test_filter_by_type_priority_and_read_state(client, auth, mixed):
    assert titles(client, auth, type="review") == ["New comment", "PR merged"]
    assert titles(client, auth, type="ci,digest") == ["Weekly digest", "Deploy failed"]
    assert titles(client, auth, priority="urgent,high") == ["New comment", "Deploy failed"]
    assert titles(client, auth, read="1") == ["PR merged"]
    assert titles(client, auth, read="0") == ["Weekly digest", "New comment", "Deploy failed"]
    assert titles(client, auth, unread="1") == titles(client, auth, read="0")
    assert titles(client, auth, type="review", read="0") == ["New comment"]
    assert titles(client, auth, type="nothing-like-it") == []


def test_search_finds_every_word_in_title_or_body_in_any_case(client, auth, mixed):
    assert titles(client, auth, q="main") == ["PR merged", "Deploy failed"]
    assert titles(client, auth, q="DEPLOY main") == ["Deploy failed"]
    assert titles(client, auth, q="deploy merged") == []
    assert titles(client, auth, q="main", type="ci") == ["Deploy failed"]
    assert titles(client, auth, q="   ") == titles(client, auth)
    assert "Deploy failed for Bob" not in titles(client, auth, q="bob")


def test_filtered_pages_walk_every_match_without_gaps(client, auth):
    wanted = []
    for i in range(130):
        kind = "hit" if i % 3 == 0 else "miss"
        sent = send(client, auth, "pat", f"{kind} {i}", type=kind)
        if kind == "hit":
            wanted.append(sent)
    seen, cursor = [], None
    while True:
        query = {"type": "hit", "limit": 7, **({"before": cursor} if cursor else {})}
        page = client.get("/api/v1/users/pat/notifications", headers=auth,
                          query_string=query).json
        seen += [n["id"] for n in page["notifications"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == wanted[::-1]


def test_broadcasts_are_filtered_like_notifications(client, auth, mixed):
    made = client.post("/api/v1/broadcasts", headers=auth,
                       json={"title": "Maintenance tonight", "type": "system",
                             "body": "Main database upgrade"})
    assert made.status_code == 201
    assert titles(client, auth, q="main") == ["Maintenance tonight", "PR merged",
                                              "Deploy failed"]
    assert titles(client, auth, type="system") == ["Maintenance tonight"]
    assert titles(client, auth, type="ci") == ["Deploy failed"]
    assert titles(client, auth, read="1") == ["PR merged"]


def test_the_widget_api_takes_the_same_filters(client, auth, mixed):
    token = tokens.mint("test-secret", "ann", 300, [])[0]
    mine = client.get(f"{ME}/notifications", headers={"Authorization": f"Bearer {token}"},
                      query_string={"q": "main", "read": "0"})
    assert mine.status_code == 200
    assert [n["title"] for n in mine.json["notifications"]] == ["Deploy failed"]


@pytest.mark.parametrize("query, field", [
    ({"type": "CI"}, "type"),
    ({"type": "ci,"}, "type"),
    ({"type": ",".join(f"t{i}" for i in range(21))}, "type"),
    ({"priority": "loud"}, "priority"),
    ({"priority": "high,"}, "priority"),
    ({"read": "maybe"}, "read"),
    ({"read": "1", "unread": "1"}, "read"),
    ({"unread": "2"}, "unread"),
    ({"q": "x" * 201}, "q"),
    ({"q": "tab\there"}, "q"),
])
def test_a_bad_filter_is_422_naming_the_argument(client, auth, query, field):
    for path in ("/api/v1/users/ann/notifications", f"{ME}/notifications"):
        headers = auth if path.startswith("/api/v1/users") else {
            "Authorization": f"Bearer {tokens.mint('test-secret', 'ann', 300, [])[0]}"}
        response = client.get(path, headers=headers, query_string=query)
        assert response.status_code == 422, (path, response.json)
        assert response.json["error"]["field"] == field


def test_search_scans_only_the_retained_inbox(redis_server, redis_client, tmp_path,
                                             monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, INBOX_MAX=20))
    client = app.test_client()
    with app.app_context():
        auth = {"Authorization": f"Bearer {backend().api_keys.create('t')[1]}"}
    send(client, auth, "sam", "needle at the start")
    items = [{"user_id": "sam", "title": f"hay {i}"} for i in range(250)]
    assert client.post("/api/v1/notifications/batch", headers=auth,
                       json={"notifications": items}).status_code == 201
    assert redis_client.xlen(KEYS.inbox("sam")) <= 20 + 100
    assert titles(client, auth, "sam", q="needle") == []
    send(client, auth, "sam", "needle again")
    assert titles(client, auth, "sam", q="needle") == ["needle again"]
    assert len(titles(client, auth, "sam", q="hay", limit=100)) == redis_client.xlen(
        KEYS.inbox("sam")) - 1
