"""``/invite/<token>``: an invite or password-reset link, where its holder sets the
account's password and is signed in. Admins make the links (console, CLI)."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from notifier.backend import backend
from notifier.web import login_throttle
from notifier.web.forms import SetPasswordForm

bp = Blueprint("invites", __name__)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _gone():
    return _no_store(make_response(render_template(
        "auth/link_refused.html", title="This link has expired",
        text="Each invite or password link works once, for a limited time. Ask an admin "
             "for a new one."), 410))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Show the set-password form of a live link; on a valid form, use the link up, set
    the password (signing out every session of the account) and sign in."""
    links = backend().set_password_links
    link = links.peek(token)
    accounts = backend().accounts
    account = accounts.get(link.user_id) if link else None
    if account is None or account.disabled:
        return _gone()
    form = SetPasswordForm()
    if form.validate_on_submit():
        link = links.consume(token)
        account = accounts.get(link.user_id) if link else None
        if account is None or account.disabled:
            return _gone()
        accounts.set_password(account.user_id, form.password.data)
        if current_user.is_authenticated:
            accounts.end_session(current_user._get_current_object())
            logout_user()
        session.clear()
        login_user(accounts.start_session(account))
        flash("Your password is set. You are signed in." if link.purpose == "invite" else
              "Your new password is set. Your other sessions were signed out.", "success")
        response = redirect(url_for("inbox.index"))
        login_throttle.remember_device(response, account.user_id)
        return _no_store(response)
    return _no_store(make_response(render_template("auth/invite.html", form=form, link=link,
                                                   account=account)))
