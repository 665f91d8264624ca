"""Admin console, Users: list and search accounts, create them (with an invite link or a
password), make password-reset links, grant admin rights, disable."""

from __future__ import annotations

import re

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from notifier.backend import backend
from notifier.core.ids import is_user_id
from notifier.model.text_rules import safe_next
from notifier.web.forms import CreateUserForm

_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")


def users():
    """Accounts newest first a page at a time, or those whose name starts with ``q``."""
    return _users_page(CreateUserForm())


def _users_page(form: CreateUserForm, status: int = 200):
    size = current_app.config["ADMIN_PAGE_SIZE"]
    accounts = backend().accounts
    query = (request.args.get("q") or "").strip()
    context = {"query": query, "total": accounts.count(), "page": 1, "invalid_query": False,
               "next_url": None, "previous_url": None, "first_url": None}
    if query:
        if not is_user_id(query):
            context["invalid_query"] = True
            found = []
        else:
            found = accounts.search(query, after=request.args.get("after"), count=size + 1)
            if len(found) > size:
                found = found[:size]
                context["next_url"] = url_for(".users", q=query, after=found[-1].user_id)
            context["first_url"] = (url_for(".users", q=query) if request.args.get("after")
                                    else None)
    else:
        page_arg = request.args.get("page", "1")
        if not _PAGE.fullmatch(page_arg):
            abort(400, description="The page number must be a whole number from 1.")
        page = int(page_arg)
        found = accounts.newest((page - 1) * size, size + 1)
        if len(found) > size:
            found = found[:size]
            context["next_url"] = url_for(".users", page=page + 1)
        context.update(page=page, first_row=(page - 1) * size + 1,
                       pages=max(1, -(-context["total"] // size)),
                       previous_url=url_for(".users", page=page - 1) if page > 1 else None)
    return render_template("admin/users.html", accounts=found, form=form, **context), status


def users_create():
    """Create an account: with the password typed, or with none and an invite link to
    hand over, where its owner sets one."""
    form = CreateUserForm()
    if not form.validate_on_submit():
        return _users_page(form, 422)
    username, password = form.username.data, form.password.data or None
    accounts = backend().accounts
    if accounts.exists_in_any_case(username) or not accounts.create(
            username, password, admin=form.admin.data):
        form.username.errors.append("An account with that name exists already (in some "
                                    "letter case).")
        return _users_page(form, 409)
    role = "admin account" if form.admin.data else "account"
    if password:
        flash(f"Created the {role} {username}. It signs in with the password you typed.",
              "success")
        return redirect(url_for(".users", q=username))
    return _link_page(username, "invite", f"Created the {role} {username}.")


def users_reset_password(user_id: str):
    """Make a one-time link that sets a new password; using it signs the account out
    everywhere."""
    account = backend().accounts.get(user_id)
    if account is None:
        abort(404, description="There is no account with that username.")
    return _link_page(account.user_id, "reset", None)


def _link_page(user_id: str, purpose: str, done: str | None):
    links = backend().set_password_links
    token = links.issue(user_id, purpose)
    url = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("invites.set_password",
                                                                  token=token)
    response = make_response(render_template("admin/user_link.html", user_id=user_id,
                                             purpose=purpose, url=url, done=done,
                                             days=max(1, round(links.ttl / 86400)),
                                             hours=round(links.ttl / 3600)))
    response.headers["Cache-Control"] = "no-store"  # the link must not linger in caches
    return response


def users_grant_admin(user_id: str):
    """Make an account an admin."""
    return _change(user_id, "grant_admin")


def users_revoke_admin(user_id: str):
    """Take an account's admin rights away (never one's own)."""
    return _change(user_id, "revoke_admin")


def users_disable(user_id: str):
    """Disable an account and sign it out everywhere (never one's own)."""
    return _change(user_id, "disable")


def users_enable(user_id: str):
    """Let a disabled account sign in again."""
    return _change(user_id, "enable")


_REFUSED_FOR_SELF = {
    "revoke_admin": "You cannot remove your own admin rights. Ask another admin.",
    "disable": "You cannot disable your own account. Ask another admin.",
}
_DONE = {
    "grant_admin": "{} is now an admin.",
    "revoke_admin": "{} is no longer an admin.",
    "disable": "{} is disabled and was signed out everywhere.",
    "enable": "{} can sign in again.",
}


def _change(user_id: str, action: str):
    back = redirect(safe_next(request.form.get("next")) or url_for(".users"))
    if user_id == current_user.user_id and action in _REFUSED_FOR_SELF:
        flash(_REFUSED_FOR_SELF[action], "error")
        return back
    accounts = backend().accounts
    if action in ("grant_admin", "revoke_admin"):
        changed = accounts.set_admin(user_id, action == "grant_admin")
    else:
        changed = accounts.set_disabled(user_id, action == "disable")
    if not changed:
        abort(404, description="There is no account with that username.")
    flash(_DONE[action].format(user_id), "success")
    return back
