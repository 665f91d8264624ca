"""``/unsubscribe/<token>``: the link in every notification email.

GET shows what the link will do and a button; POST does it. Mail providers
send the one-click POST of RFC 8058 (``List-Unsubscribe=One-Click``) themselves,
without a session or a CSRF token, so this POST is exempt from CSRF: the signed
token is the authority, and all it can do is turn email off for its own user
and types. GET never changes anything (link scanners follow links).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for
from werkzeug.routing import BuildError

from notifier.backend import backend
from notifier.core import unsubscribe_tokens as unsubscribe

bp = Blueprint("unsubscribe", __name__)


def _request(token: str) -> unsubscribe.Unsubscribe:
    wanted = unsubscribe.verify(current_app.config["SECRET_KEY"], token)
    if wanted is None:
        abort(404)
    return wanted


def _settings_url() -> str | None:
    try:
        return url_for("settings.index")
    except BuildError:  # the settings page is not part of this build
        return None


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    """Ask whether to stop these emails."""
    wanted = _request(token)
    return render_template("unsubscribe/confirm.html", wanted=wanted, done=False,
                           settings_url=_settings_url())


@bp.post("/unsubscribe/<token>")
def apply(token: str):
    """Turn email off for the token's types (the button, or a mail provider's one-click)."""
    wanted = _request(token)
    backend().preferences.set_switches(wanted.user_id, unsubscribe.email_switches(wanted.types))
    return render_template("unsubscribe/confirm.html", wanted=wanted, done=True,
                           settings_url=_settings_url())
