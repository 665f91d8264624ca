"""Web push: VAPID keys, the payload, and the adapter against a local push service
that verifies the VAPID token and decrypts every message."""

import json
import os
import socket
import stat
import threading

import pytest

from notifier.delivery.channels import vapid, webpush
from notifier.model.channels import Outcome, Target

from channel_helpers import message, notification
from peers.http_peer import Answer
from peers.tls import trust_test_ca
from peers.webpush import PushService

INBOX = "https://notify.example.com/inbox"


@pytest.fixture
def push_service(monkeypatch):
    service = PushService(trust_test_ca(monkeypatch))
    yield service
    service.stop()


@pytest.fixture
def adapter(tmp_path, push_service):
    made = webpush.from_config({"WEBPUSH_SUBJECT": "mailto:ops@example.com",
                                "PUBLIC_URL": "https://notify.example.com/",
                                "WEBPUSH_TTL": 600, "PROVIDER_TIMEOUT": 5}, str(tmp_path))
    yield made
    made.close()


def target_for(adapter, push_service) -> tuple[Target, str]:
    sub = push_service.subscribe(vapid.public_key(adapter.vapid))
    info = sub.info()
    return Target("wp_0123", "webpush", {"endpoint": info["endpoint"], "keys": info["keys"]}), \
        sub.id


def test_the_vapid_key_is_made_once_and_kept_private(tmp_path):
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(vapid.load_vapid(tmp_path)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    public = {vapid.public_key(k) for k in keys}
    assert len(public) == 1 and len(next(iter(public))) == 87  # 65 bytes in base64url
    path = tmp_path / vapid.VAPID_KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [vapid.VAPID_KEY_FILE]
    assert vapid.public_key(vapid.load_vapid(tmp_path)) in public


def test_off_until_a_subject_is_set(tmp_path):
    assert webpush.from_config({"WEBPUSH_SUBJECT": ""}, str(tmp_path)) is None
    assert not (tmp_path / vapid.VAPID_KEY_FILE).exists()
    with pytest.raises(ValueError, match="WEBPUSH_SUBJECT"):
        webpush.from_config({"WEBPUSH_SUBJECT": "ops@example.com"}, str(tmp_path))


def test_payload_of_one_notification_and_of_a_digest():
    one = json.loads(webpush.payload(message(notification(
        "Dana mentioned you", body="Can you review?", link="https://x.example/pr/7",
        priority="urgent")), INBOX))
    assert one["title"] == "Dana mentioned you" and one["body"] == "Can you review?"
    assert one["url"] == "https://x.example/pr/7" and one["priority"] == "urgent"
    assert one["count"] == 1 and one["tag"] == one["id"] and "data" not in one
    plain = json.loads(webpush.payload(message(notification("No link")), INBOX))
    assert plain["url"] == INBOX
    digest = json.loads(webpush.payload(message(
        notification("first"), notification("second", priority="high"),
        notification("third", priority="low")), INBOX))
    assert digest["title"] == "3 new notifications" and digest["count"] == 3
    assert digest["body"] == "third\nsecond\nfirst" and digest["url"] == INBOX
    assert digest["priority"] == "high" and digest["tag"] == "digest"


def test_payload_is_cut_to_fit_a_push_message():
    huge = notification("😀" * 200, body="é😀" * 1000, link="https://x.example/" + "a" * 2000)
    encoded = webpush.payload(message(huge), INBOX)
    assert len(encoded) <= webpush.MAX_PAYLOAD
    shown = json.loads(encoded)
    assert shown["title"] == "😀" * 200 and shown["body"].startswith("é😀é😀")
    assert shown["body"].endswith("…")
    many = [notification(f"{i} " + "ü" * 190) for i in range(40)]
    assert len(webpush.payload(message(*many), INBOX)) <= webpush.MAX_PAYLOAD


def test_outcomes_of_push_service_answers():
    assert webpush.outcome_for(201, "Created", "", None).status == "accepted"
    assert webpush.outcome_for(410, "Gone", "", None).status == "gone"
    assert webpush.outcome_for(404, "Not Found", "", None).status == "gone"
    assert webpush.outcome_for(429, "Too Many", "", "7") == Outcome("retry", "429 Too Many", 7.0)
    assert webpush.outcome_for(502, "Bad Gateway", "", None).retry_after is None
    assert webpush.outcome_for(413, "Too Large", "big", None) == Outcome(
        "failed", "413 Too Large: big")
    assert webpush.outcome_for(400, "Bad", "x\ny", None).detail == "400 Bad: x y"
    assert webpush.outcome_for(403, "Forbidden", "", None).status == "failed"


def test_accepted_and_decrypted_by_the_push_service(adapter, push_service):
    target, sub_id = target_for(adapter, push_service)
    note = notification("Deploy finished", body="<b>prod</b> is on v2", priority="urgent",
                        link="https://ci.example/runs/9")
    outcome = adapter.send(message(note), target)
    assert outcome.status == "accepted", (outcome, push_service.rejected)
    assert outcome.detail.startswith(push_service.url + "/m/")
    [got] = push_service.delivered
    assert got.subscription == sub_id and got.ttl == 600 and got.urgency == "high"
    assert got.payload["title"] == "Deploy finished"
    assert got.payload["body"] == "<b>prod</b> is on v2"
    assert got.payload["url"] == "https://ci.example/runs/9" and got.payload["id"] == note["id"]
    assert got.vapid_claims["sub"] == "mailto:ops@example.com"
    assert got.vapid_claims["aud"] == push_service.url
    second = adapter.send(message(notification("again", priority="low")), target)
    assert second.status == "accepted"
    assert push_service.delivered[1].urgency == "low"
    assert push_service.delivered[1].vapid_token == got.vapid_token  # reused, not re-signed


def test_an_expired_subscription_is_gone(adapter, push_service):
    target, sub_id = target_for(adapter, push_service)
    push_service.expired.add(sub_id)
    outcome = adapter.send(message(), target)
    assert outcome.status == "gone" and outcome.detail.startswith("410")
    unknown = Target("wp_x", "webpush", {**target.address,
                                         "endpoint": push_service.url + "/push/nope"})
    assert adapter.send(message(), unknown).status == "gone"


def test_throttling_and_outages_are_retried(adapter, push_service):
    target, _ = target_for(adapter, push_service)
    push_service.script(Answer(429, {"Retry-After": "30"}), Answer(503), Answer(500))
    first = adapter.send(message(), target)
    assert (first.status, first.retry_after) == ("retry", 30.0)
    assert adapter.send(message(), target) == Outcome("retry", "503 Service Unavailable")
    assert adapter.send(message(), target).status == "retry"
    assert adapter.send(message(), target).status == "accepted"


def test_rejected_messages_fail(adapter, push_service):
    target, _ = target_for(adapter, push_service)
    push_service.script(Answer(413, body=b"too big"), Answer(400, body=b"bad"))
    assert adapter.send(message(), target) == Outcome("failed", "413 Request Entity Too "
                                                      "Large: too big")
    assert adapter.send(message(), target).status == "failed"
    assert push_service.delivered == []


def test_a_subscription_made_for_another_key_fails(adapter, push_service):
    sub = push_service.subscribe("BOtherKey")
    info = sub.info()
    outcome = adapter.send(message(), Target("wp_1", "webpush", {"endpoint": info["endpoint"],
                                                                 "keys": info["keys"]}))
    assert outcome.status == "failed" and outcome.detail.startswith("403")


def test_an_unreachable_push_service_is_retried(adapter, push_service):
    target, _ = target_for(adapter, push_service)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = Target(target.id, "webpush", {**target.address,
                                           "endpoint": f"https://127.0.0.1:{port}/push/x"})
    outcome = adapter.send(message(), target)
    assert outcome.status == "retry" and "unreachable" in outcome.detail


def test_a_broken_subscription_fails_without_raising(adapter):
    target = Target("wp_1", "webpush", {"endpoint": "https://127.0.0.1:9/push/x",
                                        "keys": {"p256dh": "short", "auth": "x"}})
    assert adapter.send(message(), target).status == "failed"
