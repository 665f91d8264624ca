"""Origin-bound widget tokens, the widget API (/api/v1/me) and its CORS, over the test client."""

import json

import pytest

from notifier import create_app
from notifier.backend import backend
from notifier.core import widget_tokens as tokens

from conftest import app_config

HOST = "https://app.example.com"
OTHER = "https://evil.example"
ME = "/api/v1/me"


@pytest.fixture
def key_with_origins(store):
    """An API key that allows HOST and http://localhost:5001."""
    secret = store.api_keys.create("host site", origins=[HOST, "http://localhost:5001"])[1]
    return {"Authorization": f"Bearer {secret}"}


def no_cors(response):
    return not any(name.lower().startswith("access-control-") for name in response.headers.keys())  # noqa: SIM118


def mint(client, auth, **body):
    return client.post("/api/v1/widget-tokens", headers=auth,
                       json={"user_id": "ann", **body})


def bearer(token, origin=HOST, **headers):
    found = {"Authorization": f"Bearer {token}", **headers}
    if origin is not None:
        found["Origin"] = origin
    return found


def token(user_id="ann", origins=(HOST,), ttl=300):
    return tokens.mint("test-secret", user_id, ttl, list(origins))[0]


def send(client, auth, user_id, title, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           json={"user_id": user_id, "title": title, **fields})
    assert response.status_code == 201, response.json
    return response.json["notifications"][0]["id"]


# -- minting ----------------------------------------------------------------------

def test_a_key_mints_tokens_for_the_origins_it_allows(client, key_with_origins):
    response = mint(client, key_with_origins, ttl_seconds=60,
                    origins=["HTTPS://App.Example.com:443", HOST])
    assert response.status_code == 201
    body = response.json
    assert body["origins"] == [HOST] and body["expires_in"] == 60
    grant = tokens.verify("test-secret", body["token"])
    assert grant.user_id == "ann" and grant.origins == (HOST,)


def test_an_origin_the_key_does_not_allow_is_422_naming_origins(client, key_with_origins):
    response = mint(client, key_with_origins, origins=[HOST, OTHER])
    assert response.status_code == 422
    assert response.json["error"]["field"] == "origins"
    assert OTHER in response.json["error"]["message"]
    assert HOST in response.json["error"]["message"]  # says what is allowed


def test_a_key_without_an_allow_list_mints_same_origin_tokens_only(client, auth):
    refused = mint(client, auth, origins=[HOST])
    assert refused.status_code == 422 and refused.json["error"]["field"] == "origins"
    assert "allows none" in refused.json["error"]["message"]
    plain = mint(client, auth)
    assert plain.status_code == 201 and plain.json["origins"] == []
    assert tokens.verify("test-secret", plain.json["token"]).origins == ()


@pytest.mark.parametrize(("origins", "field"), [
    (["https://app.example.com/"], "origins[0]"),
    ([HOST, "*"], "origins[1]"),
    ("https://app.example.com", "origins"),
    ([f"https://h{i}.example" for i in range(11)], "origins"),
])
def test_malformed_origins_are_422_naming_the_field(client, key_with_origins, origins, field):
    response = mint(client, key_with_origins, origins=origins)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_the_shortest_lifetime_is_a_setting(client, key_with_origins, redis_server, tmp_path,
                                            monkeypatch):
    assert mint(client, key_with_origins, ttl_seconds=9).json["error"]["field"] == "ttl_seconds"
    assert mint(client, key_with_origins, ttl_seconds=10).status_code == 201
    assert mint(client, key_with_origins, ttl_seconds=86401).status_code == 422
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "short"))
    short = create_app(app_config(redis_server.url, WIDGET_TOKEN_MIN_TTL=2)).test_client()
    assert mint(short, key_with_origins, ttl_seconds=2).status_code == 201
    assert mint(short, key_with_origins, ttl_seconds=1).status_code == 422


def test_changing_a_keys_origins_applies_to_new_tokens(client, store, key_with_origins):
    key_id = store.api_keys.list()[-1].key_id
    assert store.api_keys.set_origins(key_id, [OTHER])  # the same app: no cache to wait out
    assert mint(client, key_with_origins, origins=[HOST]).status_code == 422
    assert mint(client, key_with_origins, origins=[OTHER]).status_code == 201
    assert not store.api_keys.set_origins("0" * 16, [HOST])
    assert not store.api_keys.set_origins("not-an-id", [HOST])


# -- the widget API: authentication and origins -----------------------------------

def test_the_widget_api_takes_a_widget_token_not_an_api_key(client, auth):
    assert client.get(f"{ME}/unread-count").status_code == 401
    assert client.get(f"{ME}/unread-count", headers=auth).status_code == 401
    assert client.get(f"{ME}/unread-count",
                      headers=bearer(token() + "x")).status_code == 401
    assert client.get(f"{ME}/unread-count",
                      headers={"Authorization": f"Basic {token()}", "Origin": HOST}
                      ).status_code == 401
    forged = tokens.mint("other-secret", "ann", 60, [HOST])[0]
    assert client.get(f"{ME}/unread-count", headers=bearer(forged)).status_code == 401
    ok = client.get(f"{ME}/unread-count", headers=bearer(token()))
    assert ok.status_code == 200 and ok.json == {"user_id": "ann", "unread": 0}


def test_an_allowed_origin_gets_cors_for_that_origin_only(client):
    response = client.get(f"{ME}/unread-count", headers=bearer(token()))
    assert response.headers["Access-Control-Allow-Origin"] == HOST
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_another_origin_is_403_without_any_cors_header(client):
    for path, method in [("/unread-count", "GET"), ("/notifications", "GET"),
                         ("/notifications/read", "POST"), ("/notifications/1-0", "DELETE")]:
        response = client.open(f"{ME}{path}", method=method, headers=bearer(token(), OTHER),
                               json={"all": True} if method == "POST" else None)
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "forbidden_origin"
        assert no_cors(response), path


def test_a_bound_token_needs_the_origin_header_and_an_unbound_one_stays_home(client):
    # No Origin header reads as this service's own origin (browsers omit it only
    # on same-origin GETs): a token bound to other sites is refused there.
    assert client.get(f"{ME}/unread-count", headers=bearer(token(), None)).status_code == 403
    unbound = token(origins=())
    assert client.get(f"{ME}/unread-count", headers=bearer(unbound, None)).status_code == 200
    assert client.get(f"{ME}/unread-count",
                      headers=bearer(unbound, "http://localhost")).status_code == 200
    refused = client.get(f"{ME}/unread-count", headers=bearer(unbound, HOST))
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert client.get(f"{ME}/unread-count", headers=bearer(token(), "null")).status_code == 403


def test_an_expired_token_is_a_401_the_page_can_read(client):
    expired = token(ttl=-1)
    response = client.get(f"{ME}/unread-count", headers=bearer(expired))
    assert response.status_code == 401 and response.json["error"]["code"] == "token_expired"
    assert response.headers["Access-Control-Allow-Origin"] == HOST
    elsewhere = client.get(f"{ME}/unread-count", headers=bearer(expired, OTHER))
    assert elsewhere.status_code == 401 and "Access-Control-Allow-Origin" not in elsewhere.headers


def test_preflight_is_answered_for_origins_some_key_allows(client, store, key_with_origins):
    request_headers = {"Origin": HOST, "Access-Control-Request-Method": "POST",
                       "Access-Control-Request-Headers": "authorization, content-type"}
    response = client.options(f"{ME}/notifications/read", headers=request_headers)
    assert response.status_code == 204
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == HOST
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")} == {
        "authorization", "content-type"}
    assert headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in headers
    delete = client.options(f"{ME}/notifications/1-0", headers=request_headers)
    assert delete.headers["Access-Control-Allow-Methods"] == "DELETE"

    other = client.options(f"{ME}/notifications/read", headers={**request_headers,
                                                                "Origin": OTHER})
    assert other.status_code == 403
    assert no_cors(other)
    assert client.options(f"{ME}/unread-count").status_code == 403  # no Origin at all

    store.api_keys.revoke(store.api_keys.list()[-1].key_id)
    assert client.options(f"{ME}/unread-count", headers=request_headers).status_code == 403


# -- the widget API: one user's inbox, nobody else's -------------------------------

def test_the_listing_is_the_service_listing_of_the_tokens_user(client, auth):
    ids = [send(client, auth, "ann", f"n{i}", priority="high" if i == 2 else "normal")
           for i in range(5)]
    send(client, auth, "bob", "for bob")
    client.post("/api/v1/broadcasts", headers=auth, json={"title": "Maintenance tonight"})
    ann = bearer(token("ann"))
    mine = client.get(f"{ME}/notifications", headers=ann, query_string={"limit": 3})
    service = client.get("/api/v1/users/ann/notifications", headers=auth,
                         query_string={"limit": 3})
    assert mine.status_code == 200 and mine.json == service.json
    assert [n["user_id"] for n in mine.json["notifications"]] == ["ann"] * 3
    rest = client.get(f"{ME}/notifications", headers=ann,
                      query_string={"limit": 3, "before": mine.json["next"]}).json
    listed = [n["id"] for n in mine.json["notifications"] + rest["notifications"]]
    assert [i for i in listed if not i.startswith("b")] == ids[::-1]
    assert rest["next"] is None
    assert "for bob" not in json.dumps(mine.json) + json.dumps(rest)
    unread_only = client.get(f"{ME}/notifications", headers=ann,
                             query_string={"unread": "1"}).json
    assert len(unread_only["notifications"]) == len(listed)


def test_a_token_reads_and_changes_only_its_own_users_inbox(client, auth):
    bob_id = send(client, auth, "bob", "Bob's secret")
    ann_id = send(client, auth, "ann", "Ann's")
    ann = bearer(token("ann"))
    assert client.get(f"{ME}/unread-count", headers=ann).json["unread"] == 1

    marked = client.post(f"{ME}/notifications/read", headers=ann, json={"ids": [bob_id]})
    assert marked.status_code == 200 and marked.json == {"marked": 0, "unread": 1}
    assert client.delete(f"{ME}/notifications/{bob_id}", headers=ann).status_code == 404
    assert client.post(f"{ME}/notifications/read", headers=ann,
                       json={"all": True}).json == {"marked": 1, "unread": 0}
    bob = client.get("/api/v1/users/bob/notifications", headers=auth).json["notifications"]
    assert [(n["id"], n["read"]) for n in bob] == [(bob_id, False)]

    deleted = client.delete(f"{ME}/notifications/{ann_id}", headers=ann)
    assert deleted.status_code == 200 and deleted.json == {"deleted": ann_id, "unread": 0}
    assert client.get(f"{ME}/notifications", headers=ann).json["notifications"] == []


def test_mark_read_by_ids_and_dismiss_a_broadcast(client, auth):
    first = send(client, auth, "ann", "one")
    send(client, auth, "ann", "two")
    broadcast = client.post("/api/v1/broadcasts", headers=auth,
                            json={"title": "Announcement"}).json["broadcast"]["id"]
    ann = bearer(token("ann"))
    assert client.get(f"{ME}/unread-count", headers=ann).json["unread"] == 3
    assert client.post(f"{ME}/notifications/read", headers=ann,
                       json={"ids": [first, broadcast]}).json == {"marked": 2, "unread": 1}
    assert client.delete(f"{ME}/notifications/{broadcast}", headers=ann).status_code == 200
    listed = client.get(f"{ME}/notifications", headers=ann).json["notifications"]
    assert [n["title"] for n in listed] == ["two", "one"]
    dismissed_for = client.get("/api/v1/users/ann/notifications", headers=auth).json
    assert broadcast not in json.dumps(dismissed_for)


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("GET", "/notifications?limit=0", None, 422, "limit"),
    ("GET", "/notifications?limit=x", None, 422, "limit"),
    ("GET", "/notifications?before=nope", None, 422, "before"),
    ("GET", "/notifications?unread=maybe", None, 422, "unread"),
    ("POST", "/notifications/read", "{", 400, "body"),
    ("POST", "/notifications/read", "[]", 422, None),
    ("POST", "/notifications/read", {"ids": ["x"]}, 422, "ids[0]"),
    ("POST", "/notifications/read", {"ids": []}, 422, "ids"),
    ("POST", "/notifications/read", {"all": True, "user_id": "bob"}, 422, "user_id"),
    ("POST", "/notifications/read", {}, 422, "ids"),
    ("DELETE", "/notifications/nope", None, 404, None),
    ("DELETE", "/notifications/99999999999999999999-0", None, 422, "id"),
    ("GET", "/notifications/read", None, 405, None),
    ("DELETE", "/notifications/1-0", None, 404, None),
    ("PUT", "/notifications/1-0", None, 405, None),
])
def test_bad_input_is_a_json_error_naming_the_field(client, method, path, body, status, field):
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    response = client.open(f"{ME}{path}", method=method, headers=bearer(token()), data=data)
    assert response.status_code == status, response.json
    assert response.json["error"].get("field") == field


def test_client_scripts_may_be_loaded_from_any_origin(client):
    for name in ("notifier.js", "notifier.mjs", "notifier-widget.js"):
        response = client.get(f"/static/{name}", headers={"Origin": OTHER})
        assert response.status_code == 200, name
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "javascript" in response.headers["Content-Type"]
        assert "Access-Control-Allow-Credentials" not in response.headers
        response.close()
    other = client.get("/static/app.css", headers={"Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in other.headers
    other.close()


def test_widget_api_answers_match_the_openapi_document(client, auth):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = client.get("/api/v1/openapi.json").json
    registry = Registry().with_resource("urn:doc", Resource(doc, specification=DRAFT202012))
    sent = send(client, auth, "ann", "hello")
    calls = [
        ("GET", "/me/notifications", None, 200), ("GET", "/me/notifications?limit=0", None, 422),
        ("GET", "/me/unread-count", None, 200),
        ("POST", "/me/notifications/read", {"ids": [sent]}, 200),
        ("POST", "/me/notifications/read", "{", 400),
        ("DELETE", f"/me/notifications/{sent}", None, 200),
        ("DELETE", f"/me/notifications/{sent}", None, 404),
    ]
    for method, path, body, status in calls:
        data = body if isinstance(body, str) or body is None else json.dumps(body)
        response = client.open(f"/api/v1{path}", method=method, headers=bearer(token()),
                               data=data)
        assert response.status_code == status, (path, response.json)
        template = path.split("?")[0].replace(sent, "{notification_id}")
        operation = doc["paths"][template][method.lower()]
        assert operation["security"] == [{"widgetToken": []}]
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        Draft202012Validator({"$ref": "urn:doc" + schema["$ref"]},
                             registry=registry).validate(response.json)
    for status, headers in ((401, {}), (403, bearer(token(), OTHER))):
        response = client.get("/api/v1/me/unread-count", headers=headers)
        assert response.status_code == status
        assert str(status) in doc["paths"]["/me/unread-count"]["get"]["responses"]
    minted = client.post("/api/v1/widget-tokens", headers=auth, json={"user_id": "ann"})
    schema = doc["components"]["schemas"]["WidgetToken"]
    Draft202012Validator(schema).validate(minted.json)
    assert set(minted.json) == set(schema["required"])


# -- the per-user budget ----------------------------------------------------------

def test_a_users_widget_calls_are_limited_with_cors_and_retry_after(redis_server, redis_client,
                                                                    tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, WIDGET_RATE_LIMIT="3 per hour"))
    client = app.test_client()
    with app.app_context():
        backend().api_keys.create("host site", origins=[HOST])
    ann, bob = bearer(token("ann")), bearer(token("bob"))
    preflight = {"Origin": HOST, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}
    for _ in range(3):
        assert client.options(f"{ME}/notifications/read", headers=preflight).status_code < 300
    for path in ("/unread-count", "/notifications", "/unread-count"):  # one budget, all routes
        assert client.get(ME + path, headers=ann).status_code == 200
    over = client.post(f"{ME}/notifications/seen", headers=ann, json={"ids": ["1-0"]})
    assert over.status_code == 429 and over.json["error"]["code"] == "rate_limited"
    assert 3500 <= int(over.headers["Retry-After"]) <= 3600
    assert over.headers["Access-Control-Allow-Origin"] == HOST  # the page can read it
    assert client.get(f"{ME}/unread-count", headers=bob).status_code == 200  # bob's own budget
    # A refused token spends nothing of anyone's budget.
    refused = client.get(f"{ME}/unread-count", headers=bearer(token("bob"), origin=OTHER))
    assert refused.status_code == 403
    assert client.get(f"{ME}/unread-count", headers=bob).status_code == 200
