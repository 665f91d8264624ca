"""Cost of each delivery adapter per send, against the local peers of the tests.

Each adapter sends N messages one after another to its peer (web push service
that decrypts, SMTP server, FCM API, APNs over HTTP/2 + TLS), in this process.
Reported per adapter, median of 3 runs (min-max): the sending thread's CPU per
send (``time.thread_time``: the adapter's own work, encryption and TLS included,
not the peer's), and sends per second end to end, which is pessimistic since the
peer runs in the same process (same GIL) and decrypts or parses every message.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from notifier.delivery.channels import (  # noqa: E402
    apns,
    email,
    fcm,
    vapid,
    webpush,
)
from notifier.model.channels import Target  # noqa: E402

from channel_helpers import message, notification  # noqa: E402
from peers.apns import ApnsService  # noqa: E402
from peers.fcm import FcmService  # noqa: E402
from peers.smtp import SmtpServer  # noqa: E402
from peers.tls import tls_files  # noqa: E402
from peers.webpush import PushService  # noqa: E402

SENDS = int(os.environ.get("BENCH_SENDS", 500))
RUNS = 3


def measure(adapter, target: Target, channel: str) -> tuple[float, float]:
    """(CPU ms per send in this thread, sends per second)."""
    note = notification("Build #481 passed", body="All 1,204 tests passed in 3 min 12 s.",
                        link="https://ci.example/runs/481")
    for _ in range(20):  # warm up: connections, tokens
        assert adapter.send(message(note, channel=channel), target).status == "accepted"
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(SENDS):
        outcome = adapter.send(message(note, channel=channel), target)
        assert outcome.status == "accepted", outcome
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    return cpu / SENDS * 1000, SENDS / wall


def webpush_case(folder: Path):
    service = PushService(tls_files())
    adapter = webpush.from_config({"WEBPUSH_SUBJECT": "mailto:ops@example.com",
                                   "PUBLIC_URL": "https://n.example"}, str(folder))
    info = service.subscribe(vapid.public_key(adapter.vapid)).info()
    target = Target("wp_1", "webpush", {"endpoint": info["endpoint"], "keys": info["keys"]})
    return service, adapter, target, "web_push"


def email_case(folder: Path):
    server = SmtpServer("starttls", tls_files(), users={"mailer": "s3cret"})
    adapter = email.from_config({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "SMTP_SECURITY": "starttls",
        "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "s3cret", "SMTP_FROM": "n@example.com",
        "PUBLIC_URL": "https://n.example", "SECRET_KEY": "bench"}, str(folder))
    return server, adapter, Target("email", "email", {"email": "a@example.com"}), "email"


def fcm_case(folder: Path):
    service = FcmService()
    path = folder / "sa.json"
    path.write_text(json.dumps(service.credentials_json()))
    adapter = fcm.from_config({"FCM_CREDENTIALS": str(path), "FCM_ENDPOINT": service.url,
                               "PUBLIC_URL": "https://n.example"}, str(folder))
    return service, adapter, Target("fcm_1", "fcm", {"token": "t:" + "a" * 150}), "mobile_push"


def apns_case(folder: Path):
    service = ApnsService(tls_files())
    key = folder / "AuthKey.p8"
    key.write_text(service.signing_key_pem())
    adapter = apns.from_config({
        "APNS_KEY_PATH": str(key), "APNS_KEY_ID": service.key_id,
        "APNS_TEAM_ID": service.team_id, "APNS_TOPIC": service.topic,
        "APNS_ENDPOINT": service.url, "PUBLIC_URL": "https://n.example"}, str(folder))
    return service, adapter, Target("apns_1", "apns", {"token": "ab" * 32}), "mobile_push"


def main() -> None:
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(tls_files().ca)
    results = {}
    for name, case in (("webpush", webpush_case), ("email", email_case), ("fcm", fcm_case),
                       ("apns", apns_case)):
        cpu, rate = [], []
        for _ in range(RUNS):
            peer, adapter, target, channel = case(Path(tempfile.mkdtemp()))
            try:
                ms, per_s = measure(adapter, target, channel)
            finally:
                adapter.close()
                peer.stop()
            cpu.append(ms)
            rate.append(per_s)
        results[name] = {
            "cpu_ms_per_send": round(statistics.median(cpu), 3),
            "cpu_ms_min_max": [round(min(cpu), 3), round(max(cpu), 3)],
            "sends_per_s": round(statistics.median(rate)),
            "sends_per_s_min_max": [round(min(rate)), round(max(rate))]}
    print(json.dumps({"benchmark": "channel_adapters", "sends": SENDS, **results}))


if __name__ == "__main__":
    main()
