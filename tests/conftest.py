"""Fixtures: a real redis-server on a free port, the real app, a real gunicorn server,
and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from notifier import create_app
from notifier.backend import backend
from notifier.stores.connection import connect
from notifier.stores.embedded_redis import find_redis_server
from notifier.stores.local_cluster import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("NOTIFIER_TEST_CHROMIUM", "/usr/bin/chromium")
TEST_PREFIX = "t"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


class RedisServer:
    """A throwaway redis-server on a free TCP port."""

    def __init__(self, directory: Path, *, appendonly: bool = False, binary: str | None = None):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        directory.mkdir(parents=True, exist_ok=True)
        self.args = [binary or find_redis_server(), "--port", str(self.port), "--bind",
                     "127.0.0.1", "--save", "", "--appendonly", "yes" if appendonly else "no",
                     "--dir", str(directory), "--logfile", str(directory / "redis.log")]
        self.start()

    def start(self) -> None:
        """Start the server (again, after :meth:`stop`) on the same port."""
        self.process = subprocess.Popen(self.args)
        wait_for_port(self.port, process=self.process)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class ClusterServer:
    """A local Redis Cluster (3 masters, 3 replicas) standing in for :class:`RedisServer`
    in the suite's cluster pass (``NOTIFIER_TEST_REDIS=cluster``)."""

    def __init__(self, directory: Path):
        self.cluster = LocalCluster(directory).start()
        self.url = self.cluster.url

    def client(self) -> redis.RedisCluster:
        return connect(self.url, pool_size=8, client_name="tests")

    def stop(self) -> None:
        self.cluster.stop()


#: Which Redis the suite runs on: ``single`` (a redis-server) or ``cluster``.
REDIS_MODE = os.environ.get("NOTIFIER_TEST_REDIS", "single")
ON_CLUSTER = REDIS_MODE == "cluster"


def pytest_collection_modifyitems(config, items):
    """On the cluster pass, skip the tests about a single redis-server itself."""
    if not ON_CLUSTER:
        return
    skip = pytest.mark.skip(reason="about a single redis-server")
    for item in items:
        if item.get_closest_marker("single_redis"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer | ClusterServer]:
    if ON_CLUSTER:
        server = ClusterServer(tmp_path_factory.mktemp("cluster"))
    else:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def all_keys(client: redis.Redis | redis.RedisCluster, pattern: str) -> list[bytes]:
    """``KEYS pattern`` of the test Redis (every master of a cluster)."""
    return [key for server in servers(client) for key in server.keys(pattern)]


def servers(client: redis.Redis | redis.RedisCluster) -> list[redis.Redis]:
    """The Redis servers holding the data: the one, or every master of a cluster (each
    as a client of that node alone)."""
    if isinstance(client, redis.RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def owner(client: redis.Redis | redis.RedisCluster, key: str) -> redis.Redis:
    """The server holding ``key`` (or sharded channel): the one, or its slot's master."""
    if isinstance(client, redis.RedisCluster):
        return client.get_redis_connection(client.get_node_from_key(key))
    return client


def by_server(client: redis.Redis | redis.RedisCluster,
              keys: list[str]) -> list[tuple[redis.Redis, list[str]]]:
    """``keys`` grouped by the server holding them (every master of a cluster), each
    group with a client of that server alone, in the order given."""
    if not isinstance(client, redis.RedisCluster):
        return [(client, keys)]
    groups: dict[str, list[str]] = {}
    slots = client.nodes_manager.slots_cache
    for key in keys:
        groups.setdefault(slots[client.keyslot(key)][0].name, []).append(key)
    return [(client.get_redis_connection(client.get_node(node_name=name)), owned)
            for name, owned in groups.items()]


def subscribers(client: redis.Redis | redis.RedisCluster, channel: str) -> int:
    """How many connections hear ``channel`` as the service subscribes it: NUMSUB on one
    Redis; on a cluster SHARDNUMSUB on the master owning the channel's slot."""
    if isinstance(client, redis.RedisCluster):
        return dict(owner(client, channel).execute_command("PUBSUB SHARDNUMSUB", channel))[
            channel.encode()]
    return dict(client.pubsub_numsub(channel))[channel.encode()]


def channels(client: redis.Redis | redis.RedisCluster, pattern: str) -> list[bytes]:
    """The channels matching ``pattern`` that someone hears: PUBSUB CHANNELS on one
    Redis; on a cluster PUBSUB SHARDCHANNELS of every master."""
    if isinstance(client, redis.RedisCluster):
        return [name for server in servers(client)
                for name in server.execute_command("PUBSUB SHARDCHANNELS", pattern)]
    return client.pubsub_channels(pattern)


def subscribe(client: redis.Redis | redis.RedisCluster, channel: str):
    """A Pub/Sub connection hearing ``channel`` as the service publishes on it: SUBSCRIBE
    on one Redis; on a cluster SSUBSCRIBE, on the master owning the channel's slot. Its
    subscribe confirmation is read already."""
    if isinstance(client, redis.RedisCluster):
        pubsub = owner(client, channel).pubsub()
        pubsub.ssubscribe(channel)
    else:
        pubsub = client.pubsub()
        pubsub.subscribe(channel)
    confirmed = pubsub.get_message(timeout=1)
    assert confirmed and confirmed["type"] in ("subscribe", "ssubscribe")
    return pubsub


def flush(client: redis.Redis | redis.RedisCluster) -> None:
    """Empty the test Redis (every master of a cluster)."""
    if isinstance(client, redis.RedisCluster):
        client.flushdb(target_nodes=redis.RedisCluster.PRIMARIES)
    else:
        client.flushdb()


@pytest.fixture
def redis_client(redis_server) -> Iterator[redis.Redis]:
    client = redis_server.client()
    flush(client)
    yield client
    client.close()


def app_config(redis_url: str, **extra) -> dict:
    return {
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "KEY_PREFIX": TEST_PREFIX,
        "BOOTSTRAP_ADMIN": False,
        "TESTING": True,
        **extra,
    }


@pytest.fixture
def app(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    """The app's backend (inbox, accounts, api keys), for arranging and checking state.

    Taken out of the app context at once: a context held open through the test
    would share ``g`` between the test client's requests.
    """
    with app.app_context():
        return backend()


@pytest.fixture
def api_key(store) -> str:
    return store.api_keys.create("tests")[1]


@pytest.fixture
def auth(api_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def wait_for_receipt(store, user_id, notification_id, field, timeout=10.0):
    """A notification's receipts once ``field`` is recorded (pages report in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = store.receipts.get(user_id, notification_id)
        if found[field] is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {field} for {notification_id}")


def reconnect_race(http, api_key: str, user_id: str, *, total: int, clients: int,
                   session: Callable[[random.Random, list[str], dict], None],
                   errors_caught: tuple[type[BaseException], ...]) -> None:
    """Send ``total`` notifications to ``user_id`` at a jittered pace while ``clients``
    threads each run ``session(rng, received, state)`` (one connection that resumes where
    the client got to, appends the notification ids it reads and drops after a few events;
    ``state`` is the client's own, kept across its sessions) until they have every one;
    each must get exactly what was sent, in order."""
    auth = {"Authorization": f"Bearer {api_key}"}
    sent: list[str] = []
    results: dict[int, list[str]] = {}
    errors: list = []

    def send_all():
        for i in range(total):
            response = http.post("/api/v1/notifications", headers=auth,
                                 json={"user_id": user_id, "title": f"n{i}"})
            sent.append(response.json()["notifications"][0]["id"])
            time.sleep(random.uniform(0, 0.008))

    def client(number: int):
        received: list[str] = []
        rng, state = random.Random(number), {}
        try:
            while len(received) < total:
                session(rng, received, state)
        except errors_caught as exc:  # reported below
            errors.append((number, len(received), len(sent), exc))
        results[number] = received

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    sender = threading.Thread(target=send_all)
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    sender.start()
    for thread in [sender, *threads]:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(sent) == total
    for number, received in results.items():
        assert received == sent, f"client {number}: {len(received)} events, " \
            f"{len(set(sent) - set(received))} lost, {len(received) - len(set(received))} twice"


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str, *, next_url: str | None = None):
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data=data)


@pytest.fixture
def user(store):
    """An account ``alice`` with a known password."""
    store.accounts.create("alice", "correct horse battery")
    return "alice", "correct horse battery"


@pytest.fixture
def signed_in(client, user):
    response = sign_in(client, *user)
    assert response.status_code == 302
    return client


class LiveServer:
    """gunicorn with gevent workers serving the app on a free port (or on ``port``, to
    start a stopped server again where its clients expect it)."""

    def __init__(self, env: dict[str, str], workers: int = 1, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ARTIFACTS / f"gunicorn-{self.port}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        full_env = {**os.environ, "NOTIFIER_ACCESS_LOG": "", **env,
                    "NOTIFIER_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=full_env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=30, process=self.process)
        # With reuse_port the port answers once the first worker listens: wait for all.
        deadline = time.monotonic() + 30
        while self.log.read_text().count("Booting worker") < workers:
            assert time.monotonic() < deadline, "workers did not boot"
            time.sleep(0.05)
        time.sleep(1.0)  # each worker imports and builds the app after it boots

    def worker_pids(self) -> set[int]:
        """The pids of gunicorn's workers now."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout
        return {int(pid) for pid in out.split()}

    def worker_of(self, stream) -> int:
        """The pid of the worker holding ``stream``'s connection (an SSEStream)."""
        client_port = stream.sock.getsockname()[1]
        out = subprocess.run(["ss", "-tnpH", "state", "established",
                              f"( sport = :{self.port} and dport = :{client_port} )"],
                             capture_output=True, text=True).stdout
        pids = {int(p) for p in re.findall(r"pid=(\d+)", out)} & self.worker_pids()
        assert len(pids) == 1, out
        return pids.pop()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            return self.process.wait(timeout=30)
        return self.process.returncode


def live_env(redis_url: str, instance: Path) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "NOTIFIER_KEY_PREFIX": TEST_PREFIX,
        "NOTIFIER_BOOTSTRAP_ADMIN": "false",
        "NOTIFIER_INSTANCE_PATH": str(instance),
        "NOTIFIER_SSE_HEARTBEAT": "1",
    }


@pytest.fixture(scope="session")
def live_server(redis_server, tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(live_env(redis_server.url, tmp_path_factory.mktemp("live")), workers=2)
    yield server
    server.stop()


@pytest.fixture
def http(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def token_for():
    """Mint a widget token the live server accepts (same secret key)."""
    from notifier.core import widget_tokens as tokens

    def mint(user_id: str, ttl: float = 300) -> str:
        return tokens.mint("test-secret", user_id, ttl)[0]

    return mint


@pytest.fixture
def sender(http, api_key):
    """Send through the live server's API; returns the new ids."""

    def send(user_id: str, title: str = "hello", **fields) -> str:
        response = http.post("/api/v1/notifications", json={
            "user_id": user_id, "title": title, **fields},
            headers={"Authorization": f"Bearer {api_key}"})
        assert response.status_code == 201, response.text
        return response.json()["notifications"][0]["id"]

    return send


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM} (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def widget_server(redis_server, tmp_path_factory) -> Iterator[LiveServer]:
    """notifier for the widget's tests: tokens may live 2 s, a change to an API key's
    origins counts at once, and the access log is kept (``server.access_log``).

    Per module, so that its workers' presence sweeps and stats reports do not run
    beside the presence and scheduler tests, which share this Redis and prefix."""
    instance = tmp_path_factory.mktemp("widget")
    access_log = instance / "access.log"
    server = LiveServer({**live_env(redis_server.url, instance),
                         "NOTIFIER_WIDGET_TOKEN_MIN_TTL": "2",
                         "NOTIFIER_API_KEY_CACHE_SECONDS": "0",
                         "NOTIFIER_SCHEDULER": "false",
                         "NOTIFIER_ACCESS_LOG": str(access_log)}, workers=2)
    server.access_log = access_log
    yield server
    server.stop()


def browser_sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the login page the inbox sends a stranger to, then wait until
    the page's live stream is up."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/inbox")
    assert page.url.startswith(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/inbox")
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")


def api_send(http, api_key: str, user_id: str, title: str, **fields) -> str:
    """Send one notification through the API; its id."""
    response = http.post("/api/v1/notifications", headers={"Authorization": f"Bearer {api_key}"},
                         json={"user_id": user_id, "title": title, **fields})
    assert response.status_code == 201
    return response.json()["notifications"][0]["id"]
