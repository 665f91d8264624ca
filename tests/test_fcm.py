"""FCM HTTP v1: the adapter against a local FCM API and OAuth2 token endpoint."""

import json

import pytest

from notifier.delivery.channels import fcm
from notifier.model.channels import Outcome, Target

from channel_helpers import message, notification
from peers.fcm import FcmService, fcm_error
from peers.http_peer import Answer

TOKEN = "dGVzdC1kZXZpY2U:APA91b" + "x" * 120


@pytest.fixture
def service():
    peer = FcmService()
    yield peer
    peer.stop()


@pytest.fixture
def adapter(service, tmp_path):
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(service.credentials_json()))
    made = fcm.from_config({"FCM_CREDENTIALS": str(path), "FCM_ENDPOINT": service.url,
                            "PUBLIC_URL": "https://n.example", "PROVIDER_TIMEOUT": 5},
                           str(tmp_path))
    yield made
    made.close()


def target(token: str = TOKEN) -> Target:
    return Target("fcm_0123", "fcm", {"token": token})


def test_off_until_credentials_are_given(tmp_path):
    assert fcm.from_config({"FCM_CREDENTIALS": ""}, str(tmp_path)) is None


def test_accepted_with_an_oauth_token_reused_across_sends(adapter, service):
    note = notification("Dana mentioned you", body="Can you review?", priority="high",
                        link="https://x.example/pr/7", type="mention")
    outcome = adapter.send(message(note, channel="mobile_push"), target())
    assert outcome == Outcome("accepted", "projects/demo-project/messages/1")
    [sent] = service.sent
    assert sent["token"] == TOKEN
    assert sent["notification"] == {"title": "Dana mentioned you", "body": "Can you review?"}
    assert sent["data"] == {"notification_id": note["id"], "type": "mention",
                            "url": "https://x.example/pr/7", "priority": "high", "count": "1",
                            "user_id": "alice"}
    assert sent["android"]["priority"] == "HIGH"
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    assert service.token_requests == 1
    assert service.sent[1]["android"]["priority"] == "NORMAL"


def test_an_expired_access_token_is_refreshed(adapter, service):
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    service.access_tokens.clear()  # FCM no longer accepts it: 401, then a new one
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"
    assert service.token_requests == 2


def test_a_digest(adapter, service):
    notes = [notification("one"), notification("two", priority="urgent")]
    assert adapter.send(message(*notes, channel="mobile_push"), target()).status == "accepted"
    [sent] = service.sent
    assert sent["notification"] == {"title": "2 new notifications", "body": "two\none"}
    assert sent["data"]["count"] == "2" and sent["data"]["url"] == "https://n.example/inbox"


def test_unregistered_and_malformed_tokens_are_gone(adapter, service):
    service.unregistered.add(TOKEN)
    gone = adapter.send(message(channel="mobile_push"), target())
    assert gone.status == "gone" and gone.detail.startswith("404 UNREGISTERED")
    bad = adapter.send(message(channel="mobile_push"), target("not a token!"))
    assert bad.status == "gone" and bad.detail.startswith("400 INVALID_ARGUMENT")


def test_throttling_and_outages_are_retried(adapter, service):
    service.script(fcm_error(429, "QUOTA_EXCEEDED", "Quota exceeded.", retry_after="17"),
                   fcm_error(503, "UNAVAILABLE", "The service is unavailable."),
                   fcm_error(500, "INTERNAL", "Internal error."))
    first = adapter.send(message(channel="mobile_push"), target())
    assert (first.status, first.retry_after) == ("retry", 17.0)
    assert first.detail == "429 QUOTA_EXCEEDED: Quota exceeded."
    assert adapter.send(message(channel="mobile_push"), target()).status == "retry"
    assert adapter.send(message(channel="mobile_push"), target()).status == "retry"
    assert adapter.send(message(channel="mobile_push"), target()).status == "accepted"


def test_other_errors_fail(adapter, service):
    service.script(fcm_error(403, "SENDER_ID_MISMATCH", "SenderId mismatch"),
                   fcm_error(400, "INVALID_ARGUMENT", "Message is too big",
                             field="message.data"),
                   Answer(400, body=b"<html>not json</html>"))
    for _ in range(3):
        assert adapter.send(message(channel="mobile_push"), target()).status == "failed"
    assert service.sent == []


def test_a_token_endpoint_that_refuses_fails_and_an_unreachable_fcm_retries(
        tmp_path, service):
    info = service.credentials_json()
    info["client_email"] = "someone-else@demo-project.iam.gserviceaccount.com"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(info))
    wrong = fcm.from_config({"FCM_CREDENTIALS": str(path), "FCM_ENDPOINT": service.url,
                             "PUBLIC_URL": "https://n.example"}, str(tmp_path))
    refused = wrong.send(message(channel="mobile_push"), target())
    assert refused.status == "failed" and "invalid_grant" in refused.detail
    service.stop()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(service.credentials_json()))
    down = fcm.from_config({"FCM_CREDENTIALS": str(good), "FCM_ENDPOINT": service.url,
                            "PUBLIC_URL": "https://n.example", "PROVIDER_TIMEOUT": 2},
                           str(tmp_path))
    assert down.send(message(channel="mobile_push"), target()).status == "retry"


def test_outcomes_of_odd_answers():
    assert fcm.outcome_for(200, b"", None) == Outcome("accepted", "")
    assert fcm.outcome_for(502, b"bad gateway", None).status == "retry"
    assert fcm.outcome_for(404, b'{"error": {"status": "NOT_FOUND"}}', None).status == "failed"
    assert fcm.outcome_for(400, b'[1]', None) == Outcome("failed", "400 400")
