"""Admin console, Users: list and search accounts, grant admin rights, disable."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .admin import bp
from .backend import backend
from .ids import is_user_id
from .security import safe_next

_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")


@bp.get("/users")
def users():
    """Accounts newest first a page at a time, or those whose name starts with ``q``."""
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
    return render_template("admin/users.html", accounts=found, **context)


@bp.post("/users/<user_id>/grant-admin")
def users_grant_admin(user_id: str):
    """Make an account an admin."""
    return _change(user_id, "grant_admin")


@bp.post("/users/<user_id>/revoke-admin")
def users_revoke_admin(user_id: str):
    """Take an account's admin rights away (never one's own)."""
    return _change(user_id, "revoke_admin")


@bp.post("/users/<user_id>/disable")
def users_disable(user_id: str):
    """Disable an account and sign it out everywhere (never one's own)."""
    return _change(user_id, "disable")


@bp.post("/users/<user_id>/enable")
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
