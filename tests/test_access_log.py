"""The access log: one line per request whatever the client sends, and no signed tokens."""

from __future__ import annotations

import re
import socket
import time

import pytest

from notifier.core import unsubscribe_tokens as unsubscribe
from notifier.core.access_log import MASK, log_safe
from notifier.stores.clicks import click_token

from conftest import LiveServer, live_env

SECRET = "test-secret"


@pytest.mark.parametrize(("raw", "logged"), [
    ("/a\rb", "/a\\rb"),
    ("/a\nb", "/a\\nb"),
    ("/a\r\nb", "/a\\r\\nb"),
    ("/a\x00b", "/a\\x00b"),
    ("/a\tb\x01\x1b[31m\x1f", "/a\\tb\\x01\\x1b[31m\\x1f"),
    ("/a\x7fb", "/a\\x7fb"),
    ("/a\x85b\x9f", "/a\\x85b\\x9f"),
    ("/a\u2028b\u2029c", "/a\\u2028b\\u2029c"),
    ('/a"b', '/a\\"b'),
    ("/a\\b", "/a\\\\b"),
    ('/a\\"b', '/a\\\\\\"b'),
    ("/caf\xc3\xa9", "/café"),  # UTF-8 bytes as WSGI gives them (latin-1)
    ("/\xe2\x80\xa8", "/\\u2028"),  # U+2028 sent as UTF-8
    ("/caf\xe9", "/café"),  # not UTF-8: shown as latin-1
    ("/plain/path-1.js", "/plain/path-1.js"),
])
def test_log_safe_escapes_what_could_break_a_line(raw, logged):
    assert log_safe(raw) == logged
    assert "\n" not in log_safe(raw) and "\r" not in log_safe(raw)


def test_escaped_text_reads_back_as_sent():
    raw = '/x\r\n1.2.3.4 "GET /admin HTTP/1.1" 200\\\x00\x7f\u2028'
    assert log_safe(raw).encode().decode("unicode_escape") == raw


@pytest.mark.parametrize("route", ["r", "unsubscribe", "sign-in", "invite"])
def test_log_safe_masks_the_token_of_each_signed_link(route):
    token = "eyJ1c2VyIjoiYWxpY2UifQ.c2lnbmF0dXJl"
    assert log_safe(f"/{route}/{token}", path=True) == f"/{route}/{MASK}"
    assert log_safe(f"/{route}/{token}/more", path=True) == f"/{route}/{MASK}/more"
    assert log_safe(f"//{route}//{token}", path=True) == f"//{route}//{MASK}"
    assert log_safe(f"/{route.upper()}/{token}", path=True) == f"/{route.upper()}/{MASK}"
    assert log_safe(f"https://n.example/{route}/{token}?x=1", url=True) \
        == f"https://n.example/{route}/{MASK}"
    assert log_safe(f"/{route}/{token}\r\n", path=True) == f"/{route}/{MASK}"
    assert log_safe(f"/{route}", path=True) == f"/{route}"
    assert log_safe(f"/{route}/", path=True) == f"/{route}/"


def test_log_safe_leaves_other_paths_alone():
    for path in ("/", "/inbox", "/rr/abc", "/api/v1/r/abc", "/static/r/abc.js", "/events"):
        assert log_safe(path, path=True) == path
    assert log_safe("/r/abc") == "/r/abc"  # masking is for paths only
    assert log_safe("/events?token=abc", url=True) == "/events"


def test_every_route_taking_a_token_is_masked(app):
    """A new ``<token>`` route needs its first segment in TOKEN_ROUTES."""
    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert rules
    token = "c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
    for rule in rules:
        with app.test_request_context():
            path = app.url_for(rule.endpoint, token=token)
        assert token not in log_safe(path, path=True), rule.rule


@pytest.fixture(scope="module")
def logged_server(redis_server, tmp_path_factory):
    """notifier under gunicorn.conf.py, its access log in a file (``server.access_log``)."""
    instance = tmp_path_factory.mktemp("access-log")
    access_log = instance / "access.log"
    server = LiveServer({**live_env(redis_server.url, instance),
                         "NOTIFIER_SCHEDULER": "false",
                         "NOTIFIER_ACCESS_LOG": str(access_log)}, workers=1)
    server.access_log = access_log
    yield server
    server.stop()


def raw_request(port: int, target: str, headers: str = "") -> bytes:
    """Send one request line exactly as given; the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
                     "Connection: close\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def log_lines_after(log, before: int, count: int) -> list[str]:
    """The access log's lines after the first ``before``, once there are ``count`` more."""
    deadline = time.monotonic() + 10
    while True:
        lines = log.read_text().splitlines()[before:] if log.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def line_count(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


FORGED = '127.0.0.1 "GET /admin/forged HTTP/1.1" 200 0 1ms'
# A whole line of gunicorn.conf.py's format: quotes inside the quoted part are escaped.
LINE = re.compile(r'127\.0\.0\.1 "GET (?:[^"\\]|\\.)* HTTP/1\.1" \d{3} \d+ \d+ms')


def test_a_crlf_in_the_path_cannot_forge_a_log_line(logged_server):
    log = logged_server.access_log
    before = line_count(log)
    target = "/nothing%0d%0a" + FORGED.replace(" ", "%20").replace('"', "%22")
    assert raw_request(logged_server.port, target).startswith(b"HTTP/1.1 404")
    assert raw_request(logged_server.port, "/also%00%0a%e2%80%a8nothing").startswith(
        b"HTTP/1.1 404")
    time.sleep(0.5)  # a third line, if one were forged, would be written by now
    lines = log_lines_after(log, before, 2)
    assert len(lines) == 2, lines
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert lines[0].startswith('127.0.0.1 "GET /nothing\\r\\n127.0.0.1 \\"GET /admin/forged ')
    assert '\\" 200 0 1ms HTTP/1.1" 404 ' in lines[0]
    assert '"GET /also\\x00\\n\\u2028nothing HTTP/1.1" 404 ' in lines[1]


def test_signed_link_tokens_stay_out_of_the_log(logged_server):
    log = logged_server.access_log
    before = line_count(log)
    click = click_token(SECRET, "alice", "1700000000000-0")
    unsub = unsubscribe.mint(SECRET, "alice", ["news"])
    assert raw_request(logged_server.port, f"/r/{click}?target=link").startswith(b"HTTP/1.1 ")
    assert raw_request(logged_server.port, f"/unsubscribe/{unsub}").startswith(b"HTTP/1.1 ")
    lines = log_lines_after(log, before, 2)
    assert len(lines) == 2, lines
    assert '"GET /r/[token] HTTP/1.1" 404 ' in lines[0]
    assert '"GET /unsubscribe/[token] HTTP/1.1" 200 ' in lines[1]
    text = "\n".join(lines)
    for token in (click, unsub):
        assert token not in text and token.split(".")[0] not in text
    assert "target=" not in text


def test_every_atom_from_the_client_is_escaped(redis_server, tmp_path):
    """Formats that log the request line, the query string and headers stay safe too.

    gunicorn refuses most control characters in a header value itself (400, no log line);
    a tab, obs-text (U+0085 as latin-1) and UTF-8 are let through."""
    access_log = tmp_path / "access.log"
    log_format = '"%(r)s" %(q)s "%({user-agent}i)s" "%({referer}i)s" "%({x-note}i)s"'
    server = LiveServer({**live_env(redis_server.url, tmp_path / "instance"),
                         "NOTIFIER_SCHEDULER": "false",
                         "NOTIFIER_ACCESS_LOG": str(access_log),
                         "GUNICORN_CMD_ARGS": f"--access-logformat '{log_format}'"}, workers=1)
    try:
        click = click_token(SECRET, "alice", "1700000000000-0")
        raw_request(server.port, f"/r/{click}?token=secret-widget-token",
                    headers=f'User-Agent: a"b\\c\tz\x85\r\n'
                            f"Referer: http://127.0.0.1/r/{click}?token=secret-widget-token\r\n"
                            "X-Note: \xe2\x80\xa8fake line\r\n")
        lines = log_lines_after(access_log, 0, 1)
    finally:
        server.stop()
    assert lines == ['"GET /r/[token] HTTP/1.1" - "a\\"b\\\\c\\tz\\x85" '
                     '"http://127.0.0.1/r/[token]" "\\u2028fake line"'], lines
