"""A site on another origin that embeds notifier's widget for its signed-in user.

    NOTIFIER_API_KEY=nk_... .venv/bin/python examples/host_site.py   # http://127.0.0.1:5001

Its backend mints widget tokens with an API key (kept on the server, never sent to
the browser) for whoever is signed in here: a fake sign-in, ``/?as=<user id>``.
The API key must allow this site's origin (docs/widget.md).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from html import escape
from pathlib import Path

from flask import Flask, jsonify, request, session

NOTIFIER_URL = os.environ.get("NOTIFIER_URL", "http://localhost:8000").rstrip("/")
API_KEY = os.environ.get("NOTIFIER_API_KEY", "")
ORIGIN = os.environ.get("HOST_SITE_ORIGIN", "")  # default: the origin the page was opened on
TOKEN_TTL = int(os.environ.get("HOST_SITE_TOKEN_TTL", "900"))

app = Flask(__name__, root_path=str(Path(__file__).resolve().parent))
app.secret_key = os.environ.get("HOST_SITE_SECRET", "example only: change me")
# Cookies ignore ports: on one machine, keep clear of notifier's own "session" cookie.
app.config["SESSION_COOKIE_NAME"] = "acme_session"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/host.css"></head>
<body><header><strong>Acme</strong><nav><a href="/">Dashboard</a></nav>
<span class="who">{user}</span><span id="bell"></span></header>
<main><h1>Welcome back, {user}</h1><p>Your notifications are under the bell.</p></main>
<script src="{notifier}/static/notifier-widget.js" data-token-url="/notifier-token"
        data-target="#bell" data-transport="{transport}" async></script>
</body></html>"""


@app.get("/")
def home():
    """The page with the widget, for the user named by ?as= (alice at first)."""
    session["user"] = request.args.get("as") or session.get("user") or "alice"
    # ?transport=websocket: the widget over /ws instead of Server-Sent Events.
    transport = "websocket" if request.args.get("transport") == "websocket" else "sse"
    response = app.response_class(PAGE.format(user=escape(session["user"]),
                                              notifier=escape(NOTIFIER_URL), transport=transport))
    # The widget needs only its script and its connections to notifier.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {NOTIFIER_URL}; "
        f"connect-src 'self' {NOTIFIER_URL} {NOTIFIER_URL.replace('http', 'ws', 1)}; "
        "style-src 'self'")
    return response


@app.get("/notifier-token")
def notifier_token():
    """A widget token for the signed-in user, for this page's origin only."""
    if "user" not in session:
        return jsonify(error="sign in first"), 401
    origin = ORIGIN or request.host_url.rstrip("/")
    body = json.dumps({"user_id": session["user"], "origins": [origin],
                       "ttl_seconds": TOKEN_TTL}).encode()
    call = urllib.request.Request(f"{NOTIFIER_URL}/api/v1/widget-tokens", data=body,  # noqa: S310
                                  headers={"Authorization": f"Bearer {API_KEY}"})
    try:
        with urllib.request.urlopen(call, timeout=5) as answer:  # noqa: S310 (an http(s) URL)
            minted = answer.read()
    except urllib.error.HTTPError as exc:
        app.logger.error("notifier refused a token: %s", exc.read().decode(errors="replace"))
        return jsonify(error="no token"), 502
    except urllib.error.URLError as exc:
        app.logger.error("notifier is unreachable: %s", exc.reason)
        return jsonify(error="no token"), 502
    response = app.response_class(minted, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5001")))
