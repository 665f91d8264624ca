"""HTTP API v1: sign-in links a host application mints for its signed-in users.

The host application already knows who its user is (the same trust as widget tokens),
so a link signs that user in here once, creating a password-less account on first use.
It never signs in to an admin or a disabled account: an API key must not become an
admin session.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, g, jsonify, url_for

from notifier.api.requests import parse_body
from notifier.backend import backend
from notifier.core.clock import iso_utc
from notifier.core.errors import ApiError
from notifier.model.requests import SignInLinkRequest


def create_sign_in_link():
    """A one-time link that signs ``user_id`` in, valid ``SIGN_IN_LINK_TTL`` seconds."""
    body = parse_body(SignInLinkRequest, root_field="user_id")
    account = backend().accounts.get(body.user_id)
    if account is not None and (account.is_admin or account.disabled):
        raise ApiError(422, "not_allowed", "user_id: sign-in links are not made for admin "
                       "or disabled accounts", "user_id")
    links = backend().sign_in_links
    token, expires_at = links.mint(body.user_id, body.next or "", key_id=g.api_key.key_id)
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    response = jsonify(url=base + url_for("sign_in.sign_in", token=token),
                       user_id=body.user_id,
                       expires_at=iso_utc(datetime.fromtimestamp(expires_at, UTC)),
                       expires_in=links.ttl)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
