"""The event stream with origin-bound tokens, over real HTTP against gunicorn."""

import time

import httpx
import pytest
from sse_client import SSEStream

from notifier.core import widget_tokens as tokens

HOST = "http://127.0.0.1:5001"
OTHER = "https://evil.example"


def mint(user_id="ann", origins=(HOST,), ttl=300):
    return tokens.mint("test-secret", user_id, ttl, list(origins))[0]


@pytest.fixture
def http(widget_server):
    with httpx.Client(base_url=widget_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def send(http, store):
    key = store.api_keys.create("stream tests")[1]

    def send(user_id, title="hello"):
        response = http.post("/api/v1/notifications", json={"user_id": user_id, "title": title},
                             headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201
        return response.json()["notifications"][0]["id"]

    return send


def test_an_allowed_origin_streams_with_cors_for_it(widget_server, redis_client, send):
    with SSEStream(widget_server.url, f"/events?token={mint()}",
                   headers={"Origin": HOST}) as stream:
        assert stream.status == 200
        assert stream.headers["access-control-allow-origin"] == HOST
        assert "origin" in stream.headers["vary"].lower()
        assert "access-control-allow-credentials" not in stream.headers
        stream.next_of("unread")
        sent = send("ann")
        assert stream.next_of("notification").nid == sent


@pytest.mark.parametrize(("origins", "headers"), [
    ((HOST,), {"Origin": OTHER}),
    ((HOST,), {"Origin": "null"}),
    ((HOST,), {}),  # no Origin: this service's own origin, which the token does not name
    ((), {"Origin": HOST}),  # a token without origins is for this service's own pages
])
def test_another_origin_gets_a_403_without_cors(http, redis_client, origins, headers):
    response = http.get("/events", params={"token": mint(origins=origins)}, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_a_token_without_origins_still_opens_a_same_origin_stream(widget_server, redis_client):
    own = widget_server.url  # a same-origin request that names its origin anyway (a POST would)
    for headers in ({}, {"Origin": own}):
        with SSEStream(widget_server.url, f"/events?token={mint(origins=())}",
                       headers=headers) as stream:
            assert stream.status == 200
            assert stream.next_of("unread").json() == {"unread": 0}


def test_an_expired_token_is_401(http, redis_client):
    response = http.get("/events", params={"token": mint(ttl=-1)}, headers={"Origin": HOST})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_a_fresh_stream_tells_its_position_so_a_new_one_resumes_there(widget_server,
                                                                      redis_client, send):
    # A client that has seen no notification yet must still be able to resume, as the
    # JS client does after a token refresh (a new EventSource has no Last-Event-ID).
    with SSEStream(widget_server.url, f"/events?token={mint()}",
                   headers={"Origin": HOST}) as stream:
        position = stream.next_of("unread").id
        assert position is not None and "_" in position
    missed = send("ann", "while away")
    with SSEStream(widget_server.url, f"/events?token={mint()}&last_event_id={position}",
                   headers={"Origin": HOST}) as stream:
        event = stream.next_of("notification")
        assert event.nid == missed and event.json()["title"] == "while away"
        assert stream.next_of("unread").json() == {"unread": 1}


def test_tokens_never_reach_the_access_log(widget_server, http, redis_client):
    token = mint()
    with SSEStream(widget_server.url, f"/events?token={token}&last_event_id=1-0",
                   headers={"Origin": HOST}) as stream:
        stream.next_of("unread")
    http.get("/events", params={"token": token}, headers={"Origin": OTHER})
    http.get("/api/v1/me/unread-count", headers={"Authorization": f"Bearer {token}",
                                                 "Origin": HOST})
    log = widget_server.access_log
    deadline = time.monotonic() + 10
    # The stream is logged when the server notices it closed (heartbeat: 1 s), and each
    # line once its response has gone out: wait for all three.
    expected = ('"GET /events HTTP/1.1" 200', '"GET /events HTTP/1.1" 403',
                '"GET /api/v1/me/unread-count HTTP/1.1" 200')
    while True:
        text = log.read_text() if log.exists() else ""
        if all(line in text for line in expected) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for line in expected:
        assert line in text
    # A token's longest part is its payload (a compressed one starts with ".").
    assert token not in text and max(token.split("."), key=len) not in text
    assert "token=" not in text and "last_event_id" not in text
