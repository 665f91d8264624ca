"""Request ids (``X-Request-ID``) and JSON log lines, from the formatter to the real
server's log."""

from __future__ import annotations

import json
import logging
import re
import sys

import httpx
import pytest

from notifier import create_app
from notifier.core.log_format import REQUEST_ID, JsonFormatter, RequestIdFilter
from notifier.core.request_ids import accepted

from conftest import LiveServer, RedisServer, app_config, live_env

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def formatted(message: str, *args, exc_info=None) -> dict:
    record = logging.LogRecord("notifier.test", logging.WARNING, __file__, 1, message, args,
                               exc_info)
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line
    return json.loads(line)


def test_a_json_line_carries_the_request_id():
    token = REQUEST_ID.set("abc-123")
    try:
        entry = formatted("saved %s", "prefs")
    finally:
        REQUEST_ID.reset(token)
    assert entry["message"] == "saved prefs" and entry["request_id"] == "abc-123"
    assert entry["level"] == "warning" and entry["logger"] == "notifier.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert "request_id" not in formatted("outside a request")


def test_a_json_line_is_one_line_whatever_it_holds():
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        entry = formatted("forged\n{\"level\": \"info\"}\u2028", exc_info=sys.exc_info())
    assert entry["message"] == "forged\n{\"level\": \"info\"}\u2028"
    assert "ValueError: line one\nline two" in entry["exception"]


@pytest.mark.parametrize(("sent", "kept"), [
    ("4f1c2a9be07d4c5f8a1e6b3d2c0f9e7a", True),
    ("550e8400-e29b-41d4-a716-446655440000", True),
    ("req:frontend/7+x=", True),
    ("", False),
    ("has space", False),
    ("line\nbreak", False),
    ("x" * 129, False),
    ("<script>", False),
])
def test_which_sent_ids_are_accepted(sent, kept):
    assert accepted(sent) == (sent if kept else None)


def test_every_response_carries_a_new_id_when_no_proxy_is_trusted(client, auth):
    first, second = client.get("/livez"), client.get("/livez")
    assert HEX_ID.match(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    spoofed = client.get("/livez", headers={"X-Request-ID": "chosen-by-the-client"})
    assert HEX_ID.match(spoofed.headers["X-Request-ID"])  # not trusted: replaced
    refused = client.post("/api/v1/notifications", json={})
    assert refused.status_code == 401 and HEX_ID.match(refused.headers["X-Request-ID"])
    invalid = client.post("/api/v1/notifications", json={"title": "x"}, headers=auth)
    assert invalid.status_code == 422 and HEX_ID.match(invalid.headers["X-Request-ID"])


def test_a_trusted_proxys_id_is_kept(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, TRUSTED_PROXIES=1))
    client = app.test_client()
    kept = client.get("/livez", headers={"X-Request-ID": "from-the-proxy-1"})
    assert kept.headers["X-Request-ID"] == "from-the-proxy-1"
    for bad in ("has space", "x" * 129):
        replaced = client.get("/livez", headers={"X-Request-ID": bad})
        assert HEX_ID.match(replaced.headers["X-Request-ID"])
    assert HEX_ID.match(client.get("/login").headers["X-Request-ID"])  # none sent


@pytest.mark.slow
def test_the_servers_lines_are_json_with_the_request_id(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    env = {**live_env(redis_server.url, tmp_path / "instance"),
           "NOTIFIER_LOG_FORMAT": "json", "NOTIFIER_ACCESS_LOG": "-",
           "NOTIFIER_TRUSTED_PROXIES": "1"}
    server = LiveServer(env)
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            http.get("/invite/secret-invite-token?widget_token=secret-query")
            redis_server.stop()
            ready = http.get("/readyz", headers={"X-Request-ID": "from-the-proxy-1"})
        assert ready.status_code == 503 and ready.headers["X-Request-ID"] == "from-the-proxy-1"
    finally:
        server.stop()
        redis_server.stop()
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    ours = [entry for entry in entries if entry.get("request_id") == "from-the-proxy-1"]
    assert {entry["logger"] for entry in ours} == {"notifier.web.health", "gunicorn.access"}
    [access] = [entry for entry in ours if entry["logger"] == "gunicorn.access"]
    assert access["path"] == "/readyz" and access["status"] == 503
    assert access["method"] == "GET" and isinstance(access["duration_ms"], int)
    assert any("notifier is ready at" in entry["message"] for entry in entries)
    assert any(entry.get("path") == "/invite/[token]" for entry in entries)
    assert "secret-" not in server.log.read_text()  # tokens masked, no query strings
