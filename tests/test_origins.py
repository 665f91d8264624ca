"""Origins are stored in the exact form browsers send; tokens carry them, signed."""

import time

import pytest
from itsdangerous import URLSafeSerializer

from notifier.core import widget_tokens as tokens
from notifier.core.origins import parse_origin, parse_origins


@pytest.mark.parametrize(("given", "stored"), [
    ("https://app.example.com", "https://app.example.com"),
    ("HTTPS://App.Example.COM", "https://app.example.com"),
    ("https://app.example.com:443", "https://app.example.com"),
    ("http://app.example.com:80", "http://app.example.com"),
    ("http://localhost:8000", "http://localhost:8000"),
    ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
    ("https://[0:0:0:0:0:0:0:1]:8443", "https://[::1]:8443"),
    ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
])
def test_origins_take_the_form_browsers_send(given, stored):
    assert parse_origin(given) == stored


@pytest.mark.parametrize(("given", "problem"), [
    ("https://app.example.com/", "no path"),
    ("https://app.example.com/widget", "no path"),
    ("https://app.example.com?x=1", "no path"),
    ("https://app.example.com#top", "no path"),
    ("ftp://app.example.com", "http or https"),
    ("app.example.com", "scheme://host"),
    ("*.example.com", "scheme://host"),
    ("https://*.example.com", "malformed host"),
    ("https://user@app.example.com", "user name"),
    ("https://app.example.com:0", "port"),
    ("https://app.example.com:70000", "port"),
    ("https://bücher.example", "punycode"),
    ("https://app..example.com", "malformed host"),
    ("https://app.example.com.", "malformed host"),
    ("https://[::1", "scheme://host"),
    ("https://[1::2::3]", "IPv6"),
    ("https://app.example.com\n", "control"),
    ("null", "scheme://host"),
    ("", "scheme://host"),
    (None, "string"),
])
def test_anything_but_an_origin_is_refused_saying_why(given, problem):
    with pytest.raises(ValueError, match=problem):
        parse_origin(given)


def test_lists_drop_repeats_and_name_the_bad_one():
    assert parse_origins(["https://a.example", "HTTPS://A.example:443", "http://b.example"],
                         limit=5) == ["https://a.example", "http://b.example"]
    with pytest.raises(ValueError, match=r"'https://b\.example/'"):
        parse_origins(["https://a.example", "https://b.example/"], limit=5)
    with pytest.raises(ValueError, match="at most 2"):
        parse_origins(["https://a.example", "https://b.example", "https://c.example"], limit=2)


def test_a_token_carries_its_origins_signed():
    token, grant = tokens.mint("k", "ann", 60, ["https://a.example", "http://b.example:81"])
    assert tokens.verify("k", token) == grant
    assert grant.origins == ("https://a.example", "http://b.example:81")
    assert tokens.verify("other", token) is None
    # The payload is readable (itsdangerous signs, it does not encrypt) but not changeable.
    signature = token.rpartition(".")[2]
    forged = tokens.mint("k", "ann", 60, ["https://evil.example"])[0]
    assert tokens.verify("k", forged.rpartition(".")[0] + "." + signature) is None


def test_an_expired_token_is_still_read_so_its_origin_can_be_told():
    token, _ = tokens.mint("k", "ann", -1, ["https://a.example"])
    assert tokens.verify("k", token) is None
    grant = tokens.read("k", token)
    assert grant.expired and grant.origins == ("https://a.example",)
    assert grant.expires_at < time.time()


def test_a_token_without_origins_carries_no_origins_claim():
    token, grant = tokens.mint("k", "ann", 60)
    claims = URLSafeSerializer("k", salt="notifier.widget-token.v1").loads(token)
    assert claims == {"u": "ann", "e": grant.expires_at, "i": grant.issued_at}
    assert grant.origins == () and grant.key_id is None
    assert tokens.verify("k", token) == grant
