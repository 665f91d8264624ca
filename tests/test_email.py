"""Email: the message (parts, escaping, List-Unsubscribe), SMTP over plain, STARTTLS and
TLS with AUTH against a real SMTP server (aiosmtpd), error mapping, and the
one-click unsubscribe route."""

import re
import time

import pytest

from notifier.core import unsubscribe_tokens as unsubscribe
from notifier.delivery.channels import email
from notifier.model.channels import Outcome, Target

from channel_helpers import message, notification
from conftest import sign_in
from peers.smtp import SmtpServer
from peers.tls import trust_test_ca

# aiosmtpd warns about AUTH without STARTTLS on the implicit-TLS peer, which is encrypted.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

TO = Target("email", "email", {"email": "alice@example.com"})
SECRET = "test-secret"


def adapter_for(server: SmtpServer, security: str = "plain", **extra) -> email.EmailAdapter:
    config = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "SMTP_SECURITY": security,
              "SMTP_FROM": "Notifier <notify@example.com>", "PUBLIC_URL": "https://n.example",
              "SECRET_KEY": SECRET, "PROVIDER_TIMEOUT": 5, **extra}
    return email.from_config(config, "/nonexistent")


@pytest.fixture
def smtp():
    server = SmtpServer("plain")
    yield server
    server.stop()


def parts(received):
    text = received.message.get_body(("plain",)).get_content()
    html = received.message.get_body(("html",)).get_content()
    return text, html


def test_off_until_a_host_is_set_and_loud_when_half_set():
    assert email.from_config({"SMTP_HOST": ""}, "/x") is None
    with pytest.raises(ValueError, match="SMTP_FROM"):
        email.from_config({"SMTP_HOST": "mail.example", "SMTP_FROM": "", "SECRET_KEY": "s"}, "/x")
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        email.from_config({"SMTP_HOST": "mail.example", "SMTP_FROM": "a@b.example",
                           "SMTP_SECURITY": "tls", "SECRET_KEY": "s"}, "/x")


def test_credentials_are_read_as_given(monkeypatch):
    monkeypatch.setenv("NOTIFIER_SMTP_PASSWORD", "0123")
    monkeypatch.setenv("NOTIFIER_SMTP_USERNAME", "true")
    made = email.from_config({"SMTP_HOST": "mail.example", "SMTP_FROM": "a@b.example",
                              "SMTP_PASSWORD": 123, "SMTP_USERNAME": True,
                              "SECRET_KEY": "s"}, "/x")
    assert (made.username, made.password, made.port) == ("true", "0123", 587)


def test_one_notification_as_text_and_escaped_html(smtp):
    adapter = adapter_for(smtp)
    note = notification("<script>alert(1)</script> & co", body="Line one\n<b>not bold</b>",
                        link="https://ci.example/runs/9?a=1&b=2", priority="urgent",
                        type="deploy")
    outcome = adapter.send(message(note, channel="email"), TO)
    assert outcome.status == "accepted" and outcome.detail.endswith(".notifier@example.com>")
    [got] = smtp.received
    assert got.recipients == ["alice@example.com"] and got.sender == "notify@example.com"
    mail = got.message
    assert mail["Subject"] == "<script>alert(1)</script> & co"
    assert mail["Message-ID"] == outcome.detail and mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = parts(got)
    assert "<script>alert(1)</script> & co" in text and "<b>not bold</b>" in text
    assert "Open: https://ci.example/runs/9?a=1&b=2" in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert 'href="https://ci.example/runs/9?a=1&amp;b=2"' in html
    assert ">urgent</span>" in html
    # One-click unsubscribe (RFC 8058), for this notification's type and user.
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [url] = re.fullmatch(r"<(https://n\.example/unsubscribe/[^>]+)>",
                         mail["List-Unsubscribe"]).groups()
    token = url.rsplit("/", 1)[1]
    assert unsubscribe.verify(SECRET, token) == unsubscribe.Unsubscribe("alice", ("deploy",))
    assert url in text and url in html
    adapter.close()


def test_a_digest_lists_every_notification_newest_first(smtp):
    adapter = adapter_for(smtp)
    notes = [notification("first", type="ci"), notification("second", type="mention",
                                                             body="Hi <there>"),
             notification("third", type="ci", link="https://x.example/3")]
    assert adapter.send(message(*notes, channel="email"), TO).status == "accepted"
    [got] = smtp.received
    assert got.message["Subject"] == "3 new notifications: third"
    text, html = parts(got)
    assert text.index("third") < text.index("second") < text.index("first")
    assert "Hi <there>" in text and "Hi &lt;there&gt;" in html
    assert html.count("<p style=\"margin:2px 0 0;font-size:15px") == 3
    token = got.message["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert unsubscribe.verify(SECRET, token).types == ("ci", "mention")
    assert "Stop emails about ci, mention" in text
    adapter.close()


def test_connections_are_reused_and_a_dropped_one_reopened():
    smtp = SmtpServer("plain", idle_timeout=0.3)
    try:
        adapter = adapter_for(smtp)
        for i in range(3):
            assert adapter.send(message(notification(f"n{i}"), channel="email"), TO).status \
                == "accepted"
        assert [r.session for r in smtp.received] == [1, 1, 1]
        time.sleep(0.8)  # the server closes the idle session, as servers do after a while
        assert adapter.send(message(notification("after"), channel="email"), TO).status \
            == "accepted"
        assert [r.session for r in smtp.received] == [1, 1, 1, 2]
        adapter.close()
    finally:
        smtp.stop()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_auth(monkeypatch, security):
    tls = trust_test_ca(monkeypatch)
    server = SmtpServer(security, tls, users={"mailer": "s3cret"})
    try:
        adapter = adapter_for(server, security, SMTP_USERNAME="mailer", SMTP_PASSWORD="s3cret")
        assert adapter.send(message(channel="email"), TO).status == "accepted"
        assert server.received[0].login == "mailer"
        adapter.close()
        wrong = adapter_for(server, security, SMTP_USERNAME="mailer", SMTP_PASSWORD="nope")
        outcome = wrong.send(message(channel="email"), TO)
        assert outcome.status == "failed" and outcome.detail.startswith("535")
        no_auth = adapter_for(server, security)
        assert no_auth.send(message(channel="email"), TO).status == "failed"  # 530 auth required
        assert len(server.received) == 1
    finally:
        server.stop()


def test_starttls_refuses_an_untrusted_certificate(monkeypatch):
    tls = trust_test_ca(monkeypatch)
    server = SmtpServer("starttls", tls)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")  # the test CA is not trusted now
        outcome = adapter_for(server, "starttls").send(message(channel="email"), TO)
        assert outcome.status == "retry" and "SSLCertVerificationError" in outcome.detail
        assert server.received == []
    finally:
        server.stop()


def test_smtp_errors_map_to_retry_or_failed(smtp):
    adapter = adapter_for(smtp)
    smtp.handler.rcpt_answers.extend(["550 5.1.1 No such user", "450 4.2.1 Mailbox busy"])
    smtp.handler.data_answers.extend(["451 4.3.0 Try again later", "554 5.6.0 Rejected"])
    first = adapter.send(message(channel="email"), TO)
    assert first == Outcome("failed", "550 5.1.1 No such user (recipient refused)")
    assert adapter.send(message(channel="email"), TO).status == "retry"
    assert adapter.send(message(channel="email"), TO).detail.startswith("451 4.3.0")
    assert adapter.send(message(channel="email"), TO).status == "failed"
    assert adapter.send(message(channel="email"), TO).status == "accepted"
    assert len(smtp.received) == 1
    adapter.close()


def test_an_unreachable_server_is_retried_and_a_bad_address_fails(smtp):
    port = smtp.port
    smtp.stop()
    adapter = adapter_for(type("S", (), {"port": port})())
    outcome = adapter.send(message(channel="email"), TO)
    assert outcome.status == "retry" and "ConnectionRefusedError" in outcome.detail
    bad = Target("email", "email", {"email": "alice@example.com\r\nBcc: x@evil.example"})
    assert adapter.send(message(channel="email"), bad).status == "failed"
    assert adapter.send(message(channel="email"), Target("email", "email", {})).status \
        == "failed"


# -- the unsubscribe route ---------------------------------------------------------

def test_unsubscribe_confirms_then_turns_email_off(client, redis_client):
    token = unsubscribe.mint(SECRET, "alice", ["mention", "ci"])
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Stop these emails?" in page.text
    assert "<strong>ci</strong> and <strong>mention</strong>" in page.text
    assert redis_client.exists("t:{u:alice}:prefs") == 0  # GET changes nothing
    done = client.post(f"/unsubscribe/{token}")  # the button: no CSRF token needed
    assert done.status_code == 200 and "You're unsubscribed" in done.text
    assert redis_client.hgetall("t:{u:alice}:prefs") == {b"ch:ci:email": b"0",
                                                        b"ch:mention:email": b"0"}


def test_one_click_post_from_a_mail_provider(client, redis_client):
    redis_client.hset("t:{u:alice}:prefs", mapping={"ch:ci:email": "1", "ch:ci:web_push": "1",
                                                    "email": "alice@example.com"})
    token = unsubscribe.mint(SECRET, "alice", ["ci"])
    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert redis_client.hgetall("t:{u:alice}:prefs") == {
        b"ch:ci:email": b"0", b"ch:ci:web_push": b"1", b"email": b"alice@example.com"}


def test_a_token_only_ever_changes_its_own_user(client, redis_client, user):
    signed_in = client
    assert sign_in(signed_in, *user).status_code == 302  # signed in as alice
    bobs = unsubscribe.mint(SECRET, "bob", ["ci"])
    assert signed_in.post(f"/unsubscribe/{bobs}").status_code == 200
    assert redis_client.exists("t:{u:alice}:prefs") == 0
    assert redis_client.hgetall("t:{u:bob}:prefs") == {b"ch:ci:email": b"0"}
    # Tampering: alice's name in bob's token breaks the signature.
    signature = bobs.partition(".")[2]
    forged = unsubscribe.mint("another-secret", "alice", ["ci"])
    for token in (forged, forged.partition(".")[0] + "." + signature, "garbage", "a.b"):
        assert client.get(f"/unsubscribe/{token}").status_code == 404
        assert client.post(f"/unsubscribe/{token}").status_code == 404
    assert redis_client.exists("t:{u:alice}:prefs") == 0


def test_tokens_refuse_malformed_claims():
    from itsdangerous import URLSafeSerializer

    sign = URLSafeSerializer(SECRET, salt="notifier.unsubscribe.v1").dumps
    for claims in ({"u": "a{b}", "t": ["ci"]}, {"u": "alice", "t": []},
                   {"u": "alice", "t": ["CI!"]}, {"u": "alice", "t": "ci"}, ["alice"],
                   {"u": "alice", "t": ["ci"] * 21}):
        assert unsubscribe.verify(SECRET, sign(claims)) is None
    assert unsubscribe.verify(SECRET, sign({"u": "alice", "t": ["ci"]})) is not None
