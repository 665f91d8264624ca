"""Widget tokens: what a service mints so that a page can open one user's stream."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, g, jsonify

from notifier.api.requests import parse_body
from notifier.core import widget_tokens as tokens
from notifier.core.clock import iso_utc
from notifier.core.errors import ApiError
from notifier.model.requests import WidgetTokenRequest


def create_widget_token():
    """A short-lived token that opens one user's event stream and widget API, from the
    origins it names (each allowed for this API key)."""
    body = parse_body(WidgetTokenRequest)
    shortest = int(current_app.config["WIDGET_TOKEN_MIN_TTL"])
    if body.ttl_seconds < shortest:
        raise ApiError(422, "invalid_field", f"ttl_seconds must be at least {shortest}",
                       "ttl_seconds")
    origins = list(dict.fromkeys(body.origins))
    allowed = g.api_key.origins
    refused = [o for o in origins if o not in allowed]
    if refused:
        hint = ("this API key allows none: an admin sets them in the console's API keys "
                "page or with `notifier api-keys set-origins`") if not allowed else \
            "allowed: " + ", ".join(allowed)
        raise ApiError(422, "origin_not_allowed",
                       f"origins: {refused[0]} is not among this API key's allowed origins "
                       f"({hint})", "origins")
    token, grant = tokens.mint(current_app.config["SECRET_KEY"], body.user_id,
                               body.ttl_seconds, origins, key_id=g.api_key.key_id)
    response = jsonify(token=token, user_id=grant.user_id,
                       expires_at=iso_utc(datetime.fromtimestamp(grant.expires_at, UTC)),
                       expires_in=body.ttl_seconds, origins=origins)
    response.status_code = 201
    return response
