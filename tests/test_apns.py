"""APNs: the adapter over HTTP/2 and TLS against a local APNs (hypercorn, h2 only)."""

import pytest

from notifier.delivery.channels import apns
from notifier.model.channels import Outcome, Target

from channel_helpers import message, notification
from peers.apns import ApnsService
from peers.tls import trust_test_ca

DEVICE = "ab" * 32


@pytest.fixture
def service(monkeypatch):
    peer = ApnsService(trust_test_ca(monkeypatch))
    yield peer
    peer.stop()


def adapter_for(service, tmp_path, **extra):
    key = tmp_path / "AuthKey_ABC123DEFG.p8"
    key.write_text(service.signing_key_pem())
    config = {"APNS_KEY_PATH": str(key), "APNS_KEY_ID": service.key_id,
              "APNS_TEAM_ID": service.team_id, "APNS_TOPIC": service.topic,
              "APNS_ENDPOINT": service.url, "PUBLIC_URL": "https://n.example",
              "PROVIDER_TIMEOUT": 5, **extra}
    return apns.from_config(config, str(tmp_path))


@pytest.fixture
def adapter(service, tmp_path):
    made = adapter_for(service, tmp_path)
    yield made
    made.close()


def target(token: str = DEVICE) -> Target:
    return Target("apns_0123", "apns", {"token": token})


def test_off_until_configured_and_loud_when_half_configured(tmp_path):
    assert apns.from_config({}, str(tmp_path)) is None
    with pytest.raises(ValueError, match="NOTIFIER_APNS_TEAM_ID"):
        apns.from_config({"APNS_KEY_PATH": "/k.p8", "APNS_KEY_ID": "K",
                          "APNS_TOPIC": "com.x"}, str(tmp_path))


def test_accepted_over_one_http2_connection(adapter, service):
    note = notification("Dana mentioned you", body="Can you review?", priority="urgent",
                        link="https://x.example/pr/7", type="mention")
    outcome = adapter.send(message(note, channel="mobile_push"), target())
    assert outcome.status == "accepted" and len(outcome.detail) == 36, service.refused
    for _ in range(4):
        assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    first = service.pushes[0]
    assert first.device == DEVICE and first.http_version == "2"
    assert first.headers["apns-topic"] == service.topic
    assert first.headers["apns-push-type"] == "alert" and first.headers["apns-priority"] == "10"
    assert first.headers["apns-collapse-id"] == note["id"]
    assert first.payload == {
        "aps": {"alert": {"title": "Dana mentioned you", "body": "Can you review?"},
                "thread-id": "mention", "sound": "default",
                "interruption-level": "time-sensitive"},
        "notification_id": note["id"], "type": "mention", "url": "https://x.example/pr/7",
        "count": 1}
    assert set(service.http_versions) == {"2"}
    assert len({p.client for p in service.pushes}) == 1  # one connection for all five
    assert len({p.provider_token for p in service.pushes}) == 1  # one token, reused


def test_the_provider_token_is_renewed_before_an_hour(adapter, service):
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    first = service.pushes[0].provider_token
    signed_at, token = adapter._token
    adapter._token = (signed_at - apns.TOKEN_LIFETIME + 5, token)  # 5 s left: kept
    assert adapter.provider_token() == first
    adapter._token = (signed_at - apns.TOKEN_LIFETIME - 1, token)  # its time is up
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    assert service.pushes[1].provider_token != first
    # A token APNs calls expired is dropped at once; the retry signs a new one.
    service.script(403, "ExpiredProviderToken")
    stale = adapter.provider_token()
    retry = adapter.send(message(channel="mobile_push"), target())
    assert retry == Outcome("retry", "403 ExpiredProviderToken")
    assert adapter.provider_token() != stale


def test_unregistered_and_bad_tokens_are_gone(adapter, service):
    service.unregistered.add(DEVICE)
    assert adapter.send(message(channel="mobile_push"), target()) == Outcome(
        "gone", "410 Unregistered")
    service.script(400, "BadDeviceToken")
    assert adapter.send(message(channel="mobile_push"), target("cd" * 32)) == Outcome(
        "gone", "400 BadDeviceToken")
    assert adapter.send(message(channel="mobile_push"), target("../../x")).status == "gone"


def test_throttling_and_outages_are_retried(adapter, service):
    service.script(429, "TooManyRequests", {"retry-after": "12"})
    service.script(500, "InternalServerError")
    service.script(503, "ServiceUnavailable")
    assert adapter.send(message(channel="mobile_push"), target()) == Outcome(
        "retry", "429 TooManyRequests", 12.0)
    assert adapter.send(message(channel="mobile_push"), target()).status == "retry"
    assert adapter.send(message(channel="mobile_push"), target()).status == "retry"
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"


def test_other_errors_fail(service, tmp_path):
    wrong_topic = adapter_for(service, tmp_path, APNS_TOPIC="com.example.other")
    assert wrong_topic.send(message(channel="mobile_push"), target()) == Outcome(
        "failed", "400 TopicDisallowed")
    wrong_team = adapter_for(service, tmp_path, APNS_TEAM_ID="OTHERTEAM1")
    assert wrong_team.send(message(channel="mobile_push"), target()) == Outcome(
        "failed", "403 InvalidProviderToken")
    service.script(413, "PayloadTooLarge")
    good = adapter_for(service, tmp_path)
    assert good.send(message(channel="mobile_push"), target()).status == "failed"
    assert service.pushes == []
    for made in (wrong_topic, wrong_team, good):
        made.close()


def test_an_unreachable_apns_is_retried(service, tmp_path):
    made = adapter_for(service, tmp_path)
    service.stop()
    outcome = made.send(message(channel="mobile_push"), target())
    assert outcome.status == "retry" and "unreachable" in outcome.detail
    made.close()


def test_outcomes_of_odd_answers():
    assert apns.outcome_for(400, b"not json", "", None) == Outcome("failed", "400")
    assert apns.outcome_for(502, b"", "", None).status == "retry"
    assert apns.outcome_for(400, b'{"reason": "DeviceTokenNotForTopic"}', "", None).status \
        == "failed"
