"""deploy/nginx/notifier.conf, exactly as shipped, run by Debian's nginx in front of gunicorn.

The file is a template: only the names it lists (upstream, ports, certificate paths, log
folder) are filled in, as the envsubst command in its header and in docs/deployment.md
does; a small main nginx.conf around it keeps nginx's own files in the test's folder.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sse_client import SSEStream
from ws_client import WSClient

from notifier import config
from notifier.core import widget_tokens

from conftest import ROOT, LiveServer, csrf_from, free_port, live_env, wait_for_port

SITE = ROOT / "deploy" / "nginx" / "notifier.conf"
TEMPLATE_NAMES = ("NOTIFIER_SERVER_NAME", "NOTIFIER_UPSTREAM", "NOTIFIER_HTTP_PORT",
                  "NOTIFIER_HTTPS_PORT", "NOTIFIER_TLS_CERT", "NOTIFIER_TLS_KEY",
                  "NOTIFIER_LOG_DIR")
STREAM_LOCATIONS = ("/events", "/admin/events", "/ws")
NGINX_DEFAULT_READ_TIMEOUT = 60


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if found is None:
        pytest.skip("Debian's nginx is not installed (make test installs it with "
                    "scripts/install-nginx)")
    return found


def render(values: dict[str, str]) -> str:
    """The site file with its template names filled in, and nothing else changed."""
    text = SITE.read_text()
    for name in TEMPLATE_NAMES:
        text = text.replace("${" + name + "}", values[name])
    return text


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


class Nginx:
    """nginx in the foreground with the site file in front of ``upstream``."""

    def __init__(self, folder: Path, upstream: str, cert: Path, key: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        self.url = f"https://localhost:{self.https_port}"
        self.access_log = folder / "notifier.access.log"
        (folder / "notifier.conf").write_text(render({
            "NOTIFIER_SERVER_NAME": "localhost", "NOTIFIER_UPSTREAM": upstream,
            "NOTIFIER_HTTP_PORT": str(self.http_port),
            "NOTIFIER_HTTPS_PORT": str(self.https_port),
            "NOTIFIER_TLS_CERT": str(cert), "NOTIFIER_TLS_KEY": str(key),
            "NOTIFIER_LOG_DIR": str(folder)}))
        temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        # As root, workers would run as nobody, who cannot enter the test's folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
            f"error_log {folder}/error.log info;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n    include {folder}/notifier.conf;\n}}\n")
        binary = nginx_binary()
        args = [binary, "-p", str(folder), "-e", str(folder / "error.log"),
                "-c", str(folder / "nginx.conf")]
        checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE)
        wait_for_port(self.https_port, process=self.process)
        wait_for_port(self.http_port, process=self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def proxied_env(redis_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The upstream's settings as deployed: one trusted proxy, the default heartbeat."""
    env = live_env(redis_url, instance)
    env.pop("NOTIFIER_SSE_HEARTBEAT")
    return {**env, "NOTIFIER_TRUSTED_PROXIES": "1", "NOTIFIER_SCHEDULER": "false", **extra}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture(scope="module")
def upstream(redis_server, tmp_path_factory):
    nginx_binary()
    server = LiveServer(proxied_env(redis_server.url, tmp_path_factory.mktemp("proxied")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx(upstream, certificate, tmp_path_factory):
    proxy = Nginx(tmp_path_factory.mktemp("nginx"), f"127.0.0.1:{upstream.port}", *certificate)
    yield proxy
    proxy.stop()


@pytest.fixture
def https(nginx, tls, redis_client):
    with httpx.Client(base_url=nginx.url, verify=tls, timeout=10) as client:
        yield client


@pytest.fixture
def send(https, store):
    auth = {"Authorization": f"Bearer {store.api_keys.create('nginx')[1]}"}

    def send_one(user_id: str, title: str) -> str:
        response = https.post("/api/v1/notifications", headers=auth,
                              json={"user_id": user_id, "title": title})
        assert response.status_code == 201, response.text
        return response.json()["notifications"][0]["id"]

    return send_one


def token(user_id: str) -> str:
    return widget_tokens.mint("test-secret", user_id, 300)[0]


def stream_locations(text: str) -> dict[str, str]:
    """Each ``location = PATH { ... }`` block of the site file, by path."""
    return dict(re.findall(r"location = (\S+) \{(.*?)\n    \}", text, re.S))


def test_the_template_names_are_the_documented_ones():
    text = SITE.read_text()
    assert set(re.findall(r"\$\{(NOTIFIER_\w+)\}", text)) == set(TEMPLATE_NAMES)
    names = " ".join(f"${name}" for name in TEMPLATE_NAMES)
    documented = (ROOT / "docs" / "deployment.md").read_text()
    for where in (text.replace("\n#             ", " "), documented.replace("\\\n  ", "")):
        command = re.search(r"envsubst '([^']*)'", where)
        assert command and " ".join(command.group(1).split()) == names


def test_stream_timeouts_are_above_the_heartbeat():
    """What keeps idle streams open: nginx's read timeout for every stream location is
    longer than several heartbeats (the live test below shows it at work)."""
    blocks = stream_locations(SITE.read_text())
    for path in STREAM_LOCATIONS:
        timeout = re.search(r"proxy_read_timeout (\d+)s;", blocks[path])
        assert timeout and int(timeout.group(1)) >= 3 * config.SSE_HEARTBEAT, path
    for path in ("/events", "/admin/events"):
        assert "proxy_buffering off;" in blocks[path] and "gzip off;" in blocks[path]


def test_events_arrive_one_by_one_and_resume_from_last_event_id(nginx, tls, send):
    with SSEStream(nginx.url, f"/events?token={token('ann')}", tls=tls) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "strict-transport-security" in stream.headers
        stream.next_of("unread")
        seen = []
        for number in range(3):  # each arrives before the next is sent: nothing held back
            sent = send("ann", f"n{number}")
            event = stream.next_of("notification", within=3)
            assert event.nid == sent
            seen.append(event)
    missed = [send("ann", f"missed{number}") for number in range(2)]
    with SSEStream(nginx.url, f"/events?token={token('ann')}", tls=tls,
                   headers={"Last-Event-ID": seen[-1].id}) as stream:
        replayed = [stream.next_of("notification", within=3).nid for _ in missed]
        assert replayed == missed
        after = send("ann", "live again")
        assert stream.next_of("notification", within=3).nid == after


def test_sockets_upgrade_and_deliver(nginx, certificate, send):
    socket = WSClient(nginx.url, f"/ws?token={token('bob')}",
                      sslopt={"ca_certs": str(certificate[0])})
    try:
        assert socket.next_event().event == "unread"
        sent = send("bob", "over the socket")
        event = socket.next_of("notification", within=3)
        assert event.nid == sent and event.data["title"] == "over the socket"
    finally:
        socket.close()


def test_plain_http_is_redirected_to_https(nginx):
    response = httpx.get(f"http://localhost:{nginx.http_port}/inbox?page=2")
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/inbox?page=2"


def test_signing_in_over_tls_sets_only_secure_cookies(nginx, https, store):
    """Over https the form's same-origin check passes (the app sees the public host and
    scheme through the forwarded headers) and every cookie is Secure."""
    store.accounts.create("carol", "correct horse battery")
    page = https.get("/login")
    response = https.post("/login", headers={"Referer": f"{nginx.url}/login"},
                          data={"username": "carol", "password": "correct horse battery",
                                "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text
    cookies = response.headers.get_list("set-cookie") + page.headers.get_list("set-cookie")
    assert any(cookie.startswith("session=") for cookie in cookies)
    for cookie in cookies:
        assert "; Secure" in cookie, cookie
    assert https.get("/inbox").status_code == 200


def test_a_large_batch_reaches_the_app(https, store):
    """Bodies over nginx's default limit (1 MiB) get the app's JSON answer, not nginx's."""
    auth = {"Authorization": f"Bearer {store.api_keys.create('batch')[1]}"}
    body = {"notifications": [{"user_id": "dan", "title": "x" * 200, "body": "y" * 1800}
                              for _ in range(700)]}
    response = https.post("/api/v1/notifications/batch", headers=auth, json=body)
    assert len(response.request.content) > 1024 * 1024
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.status_code in (201, 207, 400, 413), response.text


def test_the_access_log_has_no_tokens(nginx, tls, https):
    secret = token("erin")
    with SSEStream(nginx.url, f"/events?token={secret}", tls=tls) as stream:
        stream.next_of("unread")
    https.get("/unsubscribe/abc.def-link-token")
    deadline = time.monotonic() + 5
    while "/unsubscribe/" not in nginx.access_log.read_text():
        assert time.monotonic() < deadline, "nothing logged"
        time.sleep(0.05)
    log = nginx.access_log.read_text()
    assert '"GET /events HTTP/1.1" 200' in log
    assert secret not in log and "link-token" not in log and "?" not in log


@pytest.mark.slow
def test_an_idle_stream_outlives_nginx_default_timeout_on_heartbeats(
        redis_server, nginx, tls, send, certificate, tmp_path):
    """Idle for longer than nginx's default read timeout (and the file's): with the
    default heartbeat the stream stays open and delivers; against a server whose
    heartbeat is an hour, nginx cuts the same idle stream (so the wait was long enough)."""
    blocks = stream_locations(SITE.read_text())
    timeout = int(re.search(r"proxy_read_timeout (\d+)s;", blocks["/events"]).group(1))
    idle = max(timeout, NGINX_DEFAULT_READ_TIMEOUT) + 8
    quiet = LiveServer(proxied_env(redis_server.url, tmp_path / "quiet",
                                   NOTIFIER_SSE_HEARTBEAT="3600"))
    quiet_proxy = Nginx(tmp_path / "nginx", f"127.0.0.1:{quiet.port}", *certificate)
    try:
        kept = SSEStream(nginx.url, f"/events?token={token('fay')}", tls=tls, timeout=idle + 20)
        cut = SSEStream(quiet_proxy.url, f"/events?token={token('fay')}", tls=tls,
                        timeout=idle + 20)
        kept.next_of("unread")
        cut.next_of("unread")
        heartbeats, outcome = [], {}

        def wait_on_cut():
            started = time.monotonic()
            outcome["event"] = cut.next_event(include_comments=True, within=idle + 15)
            outcome["after"] = time.monotonic() - started

        watcher = threading.Thread(target=wait_on_cut)
        watcher.start()
        started = time.monotonic()
        while time.monotonic() - started < idle:
            heartbeats.append(kept.next_event(include_comments=True, within=idle))
        assert all(beat.event == "comment" for beat in heartbeats), heartbeats
        sent = send("fay", "after a long quiet")
        assert kept.next_of("notification", within=3).nid == sent
        watcher.join(timeout=30)
        assert outcome["event"] is None, outcome  # closed by nginx, without an event
        assert timeout - 2 < outcome["after"] < timeout + 5, outcome
        kept.close()
        cut.close()
    finally:
        quiet_proxy.stop()
        quiet.stop()
