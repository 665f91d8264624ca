"""Hostile input at every boundary: a 4xx naming the field, never a 500, nothing written."""

import json

import pytest

from notifier.core import widget_tokens as tokens
from notifier.model.text_rules import (
    LINE_PATTERN,
    LINES_PATTERN,
    URL_PATTERN,
    VISIBLE_LINE_PATTERN,
    VISIBLE_LINES_PATTERN,
)

from conftest import TEST_PREFIX

MAX_ID = "18446744073709551615-18446744073709551615"
CURSORS = ["0-0", "b0-0", MAX_ID, f"b{MAX_ID}", "0-1", "b0-1"]


def stored(redis_client) -> dict:
    """Every key of the service with its type and size, but the API keys' (their last use),
    the rate-limit counters (a rejected request counts too), the server processes' and
    schedulers' reports and users' open streams (live servers of other tests write them):
    what a rejected request must not change."""
    found = {}
    skipped = tuple(f"{TEST_PREFIX}:{kind}".encode()
                    for kind in ("apikey", "worker", "schedulers", "rl:", "{workers.",
                                 "{schedulers.", "{delivery-workers.", "{presence."))
    for key in redis_client.scan_iter(f"{TEST_PREFIX}:*"):
        if key.startswith(skipped) or key.endswith(b":streams"):
            continue
        kind = redis_client.type(key).decode()
        size = {"stream": redis_client.xlen, "zset": redis_client.zcard,
                "hash": redis_client.hlen, "set": redis_client.scard,
                "string": redis_client.strlen, "list": redis_client.llen}[kind](key)
        found[key] = (kind, size)
    return found


def post(client, auth, path, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/api/v1{path}", data=data, headers=auth,
                       content_type="application/json")


@pytest.fixture
def group(client, auth):
    assert post(client, auth, "/groups", {"name": "team"}).status_code == 201
    assert client.put("/api/v1/groups/team/members/alice", headers=auth).status_code == 201


# -- feed cursors ------------------------------------------------------------------

@pytest.mark.parametrize("before", CURSORS)
def test_feed_cursors_at_the_ends_of_the_id_range(client, auth, before):
    sent = post(client, auth, "/notifications", {"user_id": "alice", "title": "hi"})
    [item] = sent.json["notifications"]
    response = client.get(f"/api/v1/users/alice/notifications?before={before}", headers=auth)
    assert response.status_code == 200, response.json
    ids = [n["id"] for n in response.json["notifications"]]
    # Everything is older than the largest ids; nothing is older than the smallest.
    assert ids == ([item["id"]] if before in (MAX_ID, f"b{MAX_ID}") else [])


@pytest.mark.parametrize("before", CURSORS)
def test_widget_feed_cursors_at_the_ends_of_the_id_range(client, before):
    token = tokens.mint("test-secret", "alice", 300, [])[0]
    response = client.get(f"/api/v1/me/notifications?before={before}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    assert response.json == {"notifications": [], "next": None}


@pytest.mark.parametrize("before", CURSORS)
def test_inbox_page_cursors_at_the_ends_of_the_id_range(signed_in, before):
    assert signed_in.get(f"/inbox?before={before}").status_code == 200


# -- date-times --------------------------------------------------------------------

OUT_OF_RANGE = [
    "9999-12-31T23:59:59-14:00",  # past the largest datetime in UTC
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",  # before the smallest datetime in UTC
    "1999-12-31T23:59:59Z",
    "2030-02-30T00:00:00Z",
    "2030-01-01 00:00:00Z",
    "2030-01-01T00:00:00",
]
LATER = "2099-01-01T00:00:00Z"
# (path, body with a "{}" where the date-time goes, the field the error names)
DATE_TIME_FIELDS = [
    ("/notifications", {"user_id": "alice", "title": "t", "expires_at": "{}"}, "expires_at"),
    ("/notifications", {"user_id": "alice", "title": "t", "send_at": "{}"}, "send_at"),
    ("/notifications/batch", {"notifications": [{"user_id": "alice", "title": "t",
                                                 "expires_at": "{}"}]},
     "notifications[0].expires_at"),
    ("/notifications/batch", {"notifications": [{"user_id": "alice", "title": "t"}],
                              "send_at": "{}"}, "send_at"),
    ("/groups/team/notifications", {"title": "t", "expires_at": "{}"}, "expires_at"),
    ("/groups/team/notifications", {"title": "t", "send_at": "{}"}, "send_at"),
    ("/broadcasts", {"title": "t", "expires_at": "{}"}, "expires_at"),
    ("/broadcasts", {"title": "t", "send_at": "{}"}, "send_at"),
    ("/broadcasts", {"title": "t", "starts_at": "{}", "ends_at": LATER}, "starts_at"),
    ("/broadcasts", {"title": "t", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "{}"},
     "ends_at"),
]


def fill(body, value):
    return json.loads(json.dumps(body).replace('"{}"', json.dumps(value)))


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(("path", "body", "field"), DATE_TIME_FIELDS,
                         ids=[f"{p}:{f}" for p, _, f in DATE_TIME_FIELDS])
def test_date_times_out_of_range_are_422(client, auth, redis_client, group, path, body,
                                         field, value):
    before = stored(redis_client)
    response = post(client, auth, path, fill(body, value))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert stored(redis_client) == before


EXPIRIES = [(p, b, f) for p, b, f in DATE_TIME_FIELDS if not f.endswith("send_at")]


@pytest.mark.parametrize(("path", "body", "field"), EXPIRIES,
                         ids=[f"{p}:{f}" for p, _, f in EXPIRIES])
def test_date_times_at_the_ends_of_the_range_are_taken(client, auth, group, path, body, field):
    ends = ["9998-12-31T23:59:59.999999-23:59", "2000-01-01T00:00:00+23:59"]
    value = ends[1] if field == "starts_at" else ends[0]
    response = post(client, auth, path, fill(body, value))
    assert response.status_code in (201, 202), response.json


# -- NaN and Infinity ----------------------------------------------------------------

NON_FINITE = ['{"x": NaN}', '{"x": [1, Infinity]}', '{"x": {"y": -Infinity}}']
DATA_FIELDS = [
    ("/notifications", '{"user_id": "alice", "title": "t", "data": %s}', "data"),
    ("/notifications/batch", '{"notifications": [{"user_id": "alice", "title": "t", '
                             '"data": %s}]}', "notifications[0].data"),
    ("/groups/team/notifications", '{"title": "t", "data": %s}', "data"),
    ("/broadcasts", '{"title": "t", "data": %s}', "data"),
]


@pytest.mark.parametrize("data", NON_FINITE)
@pytest.mark.parametrize(("path", "template", "field"), DATA_FIELDS,
                         ids=[p for p, _, _ in DATA_FIELDS])
def test_nan_and_infinity_are_422(client, auth, redis_client, group, path, template, field,
                                  data):
    before = stored(redis_client)
    response = post(client, auth, path, template % data)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert stored(redis_client) == before
    listing = client.get("/api/v1/users/alice/notifications", headers=auth)
    assert listing.status_code == 200 and listing.json["notifications"] == []


# -- text ----------------------------------------------------------------------------

NOT_ONE_LINE = ["a\x00b", "a\nb", "a\rb", "a\tb", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b",
                "\u202eevil", "a\u202ab", "\u2066x\u2069", "a\u2067b"]
INVISIBLE = [" ", "\u200b", "\u200b\u200c\u200d", "\u2060", "\ufeff", "\u00a0 ", "\u3164",
             "\u200e"]
BAD_BODIES = ["a\x00b", "a\rb", "a\r\nb", "\u202eevil", "a\u2066b", "\u200b", "\n\t "]
GOOD_BODIES = ["", "line one\nline two\n\tindented", "family: 👨\u200d👩\u200d👧"]
BAD_LINKS = [
    "https://evil.example\\@good.example", "https://good.example@evil.example",
    "https://user:pw@good.example/", "https:\\\\evil.example", "https://evil.example\\x",
    "https://good.example evil", " https://good.example", "https://good.example/\n",
    "https://", "https:///path", "https://:443/", "javascript:alert(1)", "//evil.example",
    "ftp://good.example", "https://999.1.1.1/", "https://[zz::]/", "https://good.example:0/",
    "https://good.example:99999/", "https://g\u200bood.example/", "https://gööd.example/",
    "https://good.example/\u202ecod.exe", "https://good.example/a b", "https://exa_mple.com",
]
GOOD_LINKS = ["https://example.com/a?b=c#d", "http://localhost:8000/", "HTTPS://Example.COM",
              "https://[::1]:8443/x", "https://xn--bcher-kva.example/%C3%A9?q=a@b",
              "http://127.0.0.1/", "https://example.com"]


def send_one(client, auth, **fields):
    return post(client, auth, "/notifications", {"user_id": "alice", "title": "t", **fields})


@pytest.mark.parametrize("title", NOT_ONE_LINE + INVISIBLE)
def test_titles_are_one_line_of_visible_text(client, auth, redis_client, group, title):
    for path, body, field in [
        ("/notifications", {"user_id": "alice", "title": title}, "title"),
        ("/notifications/batch", {"notifications": [{"user_id": "alice", "title": title}]},
         "notifications[0].title"),
        ("/groups/team/notifications", {"title": title}, "title"),
        ("/broadcasts", {"title": title}, "title"),
    ]:
        before = stored(redis_client)
        response = post(client, auth, path, body)
        assert response.status_code == 422, (path, response.json)
        assert response.json["error"]["field"] == field
        assert stored(redis_client) == before


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bodies_are_lines_of_visible_text(client, auth, redis_client, body):
    before = stored(redis_client)
    response = send_one(client, auth, body=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "body"
    assert stored(redis_client) == before


@pytest.mark.parametrize("body", GOOD_BODIES)
def test_bodies_keep_line_feeds_and_tabs(client, auth, body):
    assert send_one(client, auth, body=body).status_code == 201
    [item] = client.get("/api/v1/users/alice/notifications", headers=auth).json["notifications"]
    assert item["body"] == body


@pytest.mark.parametrize("label", NOT_ONE_LINE + INVISIBLE + [""])
def test_action_labels_are_one_line_of_visible_text(client, auth, redis_client, label):
    response = send_one(client, auth, actions=[{"label": label, "url": "https://a.example"}])
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "actions[0].label"
    assert stored(redis_client) == {}


@pytest.mark.parametrize("link", BAD_LINKS)
def test_links_are_strict_http_urls(client, auth, redis_client, link):
    for fields, field in [({"link": link}, "link"),
                          ({"actions": [{"label": "Open", "url": link}]}, "actions[0].url")]:
        response = send_one(client, auth, **fields)
        assert response.status_code == 422, (link, response.json)
        assert response.json["error"]["field"] == field
    response = post(client, auth, "/broadcasts", {"title": "t", "link": link})
    assert response.status_code == 422 and response.json["error"]["field"] == "link"
    assert stored(redis_client) == {}


@pytest.mark.parametrize("link", GOOD_LINKS)
def test_good_links_are_taken(client, auth, link):
    response = send_one(client, auth, link=link, actions=[{"label": "Open", "url": link}])
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("description", ["two\nlines", "\u202eevil", "\u200b", "a\x00"])
def test_group_descriptions_are_one_line(client, auth, redis_client, description):
    response = post(client, auth, "/groups", {"name": "team", "description": description})
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "description"
    assert stored(redis_client) == {}


@pytest.mark.parametrize(("pattern", "value", "ok"), [
    (LINE_PATTERN, "plain words", True), (LINE_PATTERN, "", True),
    *[(LINE_PATTERN, v, False) for v in NOT_ONE_LINE if not v.endswith("\n")],
    (VISIBLE_LINE_PATTERN, "x", True),
    *[(VISIBLE_LINE_PATTERN, v, False) for v in NOT_ONE_LINE + INVISIBLE + [""]],
    *[(LINES_PATTERN, v, True) for v in GOOD_BODIES],
    *[(VISIBLE_LINES_PATTERN, v, True) for v in GOOD_BODIES],
    *[(VISIBLE_LINES_PATTERN, v, False) for v in BAD_BODIES],
    *[(URL_PATTERN, v, True) for v in GOOD_LINKS],
    *[(URL_PATTERN, v, False) for v in BAD_LINKS
      if v not in ("https://999.1.1.1/", "https://[zz::]/", "https://good.example:0/",
                   "https://good.example:99999/", "https://good.example/\n")],
])
def test_documented_patterns_say_what_is_enforced(pattern, value, ok):
    """The OpenAPI document's patterns (ECMA-262, read here by Python's re, as JSON Schema
    validators do) agree with the checks; address and port ranges are checked beyond them."""
    import re

    assert (re.search(pattern, value) is not None) == ok


# -- routes --------------------------------------------------------------------------

def test_read_is_not_a_notification_id(client, auth):
    response = client.get("/api/v1/users/alice/notifications/read", headers=auth)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    response = client.delete("/api/v1/users/alice/notifications/read", headers=auth)
    assert response.status_code == 405
