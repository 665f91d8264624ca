"""Who may use a widget token from where: the Origin check and CORS headers.

A request's origin is its ``Origin`` header. Browsers send it on every
cross-origin request a page can read the answer of (EventSource and fetch
included) and leave it out on same-origin GETs, so a request without one counts
as coming from this service's own origin. A token allows the origins it carries;
a token that carries none allows this service's own origin only. Clients that
are not browsers can send any ``Origin``: for them the token's short life and
single user are the protection, which is what origin binding adds for pages.

CORS is answered only to an allowed origin, with that exact origin and
``Vary: Origin``; never ``*``, and never with credentials (the token travels in
the ``Authorization`` header or the query string, not in a cookie). flask-cors
is not used: its allow-list is per app or per route, while here it is per token.
"""

from __future__ import annotations

from flask import Response, current_app, g, request

from notifier.backend import backend
from notifier.core import widget_tokens as tokens
from notifier.core.errors import ApiError, error_response
from notifier.core.origins import parse_origin
from notifier.core.widget_tokens import WidgetToken

#: Request headers a widget API call may carry across origins.
ALLOWED_HEADERS = "Authorization, Content-Type"


def own_origin() -> str | None:
    """This service's origin as the request reached it (after any trusted proxy)."""
    try:
        return parse_origin(f"{request.scheme}://{request.host}")
    except ValueError:
        return None


def request_origin() -> str | None:
    """The origin the request comes from: its ``Origin`` header, else this service's own."""
    return request.headers.get("Origin") or own_origin()


def allows(grant: WidgetToken, origin: str | None) -> bool:
    """Whether a page on ``origin`` may use ``grant``."""
    if origin is None:
        return False
    return origin in grant.origins if grant.origins else origin == own_origin()


def authorize(token: str | None) -> WidgetToken:
    """The grant of ``token`` for this request; ApiError 401 (no valid token, or one
    revoked since) or 403 (the token does not allow the request's origin).

    An allowed cross-origin request is remembered in ``g`` for :func:`add_cors_headers`.
    So is an expired token's origin when the token allowed it, so that the page
    can read the 401 and fetch a new token.
    """
    if not token:
        raise ApiError(401, "unauthorized",
                       "Send the widget token as 'Authorization: Bearer <token>'.")
    grant = tokens.read(current_app.config["SECRET_KEY"], token)
    if grant is None:
        raise ApiError(401, "unauthorized", "The widget token is invalid.")
    origin = request_origin()
    permitted = allows(grant, origin)
    if permitted and "Origin" in request.headers:
        g.cors_origin = origin
    if grant.expired:
        raise ApiError(401, "token_expired", "The widget token expired: fetch a new one.")
    if not permitted:
        raise ApiError(403, "forbidden_origin",
                       f"This token may not be used from {origin or 'this origin'}.")
    if not backend().revocations.token_is_live(grant):
        raise ApiError(401, "token_revoked", "The widget token was revoked: fetch a new one.")
    return grant


def add_cors_headers(response: Response) -> Response:
    """``Access-Control-Allow-Origin`` for the origin :func:`authorize` allowed, if any."""
    response.vary.add("Origin")  # the answer depends on it, so caches must key on it
    origin = g.get("cors_origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def preflight(methods: set[str]) -> Response:
    """The answer to a CORS preflight of the widget API.

    A preflight never carries the token, so it is answered for any origin some
    API key allows; the real request is then checked against its token. Any
    other origin gets a 403 without CORS headers, which the browser treats as a
    refusal.
    """
    origin = request.headers.get("Origin")
    if origin is None or origin not in backend().api_keys.allowed_origins():
        response = error_response(403, "forbidden_origin",
                                  "No API key allows this origin to use the widget API.")
        response.vary.add("Origin")
        return response
    response = Response(status=204)
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods - {"OPTIONS", "HEAD"}))
    headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    headers["Access-Control-Max-Age"] = str(current_app.config["WIDGET_PREFLIGHT_MAX_AGE"])
    for name in ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"):
        response.vary.add(name)
    return response


#: The JS client and the widget: public code that pages on any origin load, the
#: ES module through CORS (a module script from another origin needs it).
CLIENT_SCRIPTS = frozenset({"notifier.js", "notifier.mjs", "notifier-widget.js"})


def share_client_scripts(response: Response) -> Response:
    """Let any origin load the client scripts (``*``: they are public and sent without
    credentials)."""
    if request.endpoint == "static" and (request.view_args or {}).get("filename") \
            in CLIENT_SCRIPTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
