"""``GET /sign-in/<token>``: use a sign-in link minted through the API."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, session, url_for
from flask_login import current_user, login_user, logout_user

from notifier.backend import backend
from notifier.model.text_rules import safe_next

bp = Blueprint("sign_in", __name__)


def _refused(status: int, title: str, text: str):
    response = make_response(render_template("auth/link_refused.html", title=title,
                                             text=text), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sign-in/<token>")
def sign_in(token: str):
    """Consume the link, sign its user in with a new session and go to its ``next``.

    The account is checked again here: one that became an admin or was disabled since
    the link was minted is refused. A user without an account gets one, with no
    password (it signs in only through links until a reset link sets one).
    """
    link = backend().sign_in_links.consume(token)
    if link is None:
        return _refused(410, "This sign-in link has expired",
                        "Each sign-in link works once, for a few minutes. Go back to the "
                        "site that sent you here and follow its link again.")
    accounts = backend().accounts
    account = accounts.get(link.user_id)
    if account is None:
        accounts.create(link.user_id, None)  # False when another request made it first
        account = accounts.get(link.user_id)
    if account is None or account.is_admin or account.disabled:
        return _refused(403, "This link cannot sign you in",
                        "Sign-in links do not work for this account. Sign in with your "
                        "username and password instead.")
    if current_user.is_authenticated:
        accounts.end_session(current_user._get_current_object())
        logout_user()
    session.clear()  # a fresh session: nothing from before sign-in survives
    login_user(accounts.start_session(account, key_id=link.key_id))
    response = redirect(safe_next(link.next) or url_for("inbox.index"))
    response.headers["Cache-Control"] = "no-store"
    return response
