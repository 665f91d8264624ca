"""Admin console, Groups: list and create groups, manage members, delete a group.

Names and descriptions are validated by the API's ``GroupRequest``; members are
user ids (the users of the services that send, not necessarily accounts here).
"""

from __future__ import annotations

import json

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from notifier.backend import backend
from notifier.core.ids import is_user_id
from notifier.model.requests import GroupRequest
from notifier.model.text_rules import safe_next
from notifier.stores.groups import Group, GroupFull, GroupNotFound, is_group_name
from notifier.web.forms import GroupForm, MemberForm


def _group(name: str) -> Group:
    group = backend().groups.get(name) if is_group_name(name) else None
    if group is None:
        abort(404, description="There is no group with that name.")
    return group


def _cursor(validate) -> str | None:
    after = request.args.get("after") or None
    if after is not None and not validate(after):
        abort(400, description="That page link is malformed: start from the first page.")
    return after


def _list_page(form: GroupForm, status: int = 200):
    after = _cursor(is_group_name)
    groups, cursor = backend().groups.page(limit=current_app.config["ADMIN_PAGE_SIZE"],
                                           after=after)
    return render_template(
        "admin/groups.html", form=form, groups=groups,
        next_url=url_for(".groups", after=cursor) if cursor else None,
        first_url=url_for(".groups") if after else None), status


def _group_page(group: Group, form: MemberForm, status: int = 200):
    after = _cursor(is_user_id)
    members, cursor = backend().groups.members(
        group.name, limit=current_app.config["ADMIN_PAGE_SIZE"], after=after)
    return render_template(
        "admin/group.html", group=group, form=form, members=members,
        max_members=current_app.config["GROUP_MAX_MEMBERS"],
        next_url=url_for(".groups_show", name=group.name, after=cursor) if cursor else None,
        first_url=url_for(".groups_show", name=group.name) if after else None), status


def groups():
    """Groups by name with their member counts, and a form to create one."""
    return _list_page(GroupForm())


def groups_create():
    """Create a group."""
    form = GroupForm()
    form.validate_on_submit()
    name = (form.name.data or "").strip()
    description = (form.description.data or "").strip()
    try:
        GroupRequest.model_validate_json(json.dumps({"name": name, "description": description}))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = form[error["loc"][0]] if error["loc"] else form.name
            if field.errors:
                continue
            field.errors = [
                "Lowercase letters, digits and _ . - only, starting with a letter or digit "
                "(up to 64)." if field is form.name else
                f"At most {(error.get('ctx') or {}).get('max_length', 500)} characters."]
        return _list_page(form, 422)
    if not backend().groups.create(name, description):
        form.name.errors = [f"A group named “{name}” exists already."]
        return _list_page(form, 422)
    flash(f"Created the group “{name}”. Add its members here.", "success")
    return redirect(url_for(".groups_show", name=name))


def groups_show(name: str):
    """A group's members, a page at a time, and a form to add one."""
    return _group_page(_group(name), MemberForm())


def groups_add_member(name: str):
    """Add a member (they get the group's sends from now on)."""
    group = _group(name)
    form = MemberForm()
    if not form.validate_on_submit():
        return _group_page(group, form, 422)
    user_id = form.user_id.data
    try:
        added = backend().groups.add_member(group.name, user_id)
    except GroupNotFound:
        abort(404, description="There is no group with that name.")
    except GroupFull:
        form.user_id.errors = [
            f"The group has {current_app.config['GROUP_MAX_MEMBERS']:,} members, its maximum."
            " To reach everyone, send a broadcast."]
        return _group_page(group, form, 422)
    if added:
        flash(f"Added {user_id}.", "success")
    else:
        flash(f"{user_id} is a member already.", "info")
    return redirect(url_for(".groups_show", name=group.name))


def groups_remove_member(name: str):
    """Remove a member (they keep what the group sent them)."""
    group = _group(name)
    back = redirect(safe_next(request.form.get("next"))
                    or url_for(".groups_show", name=group.name))
    user_id = request.form.get("user_id", "")
    if not is_user_id(user_id):
        flash("That is not a user id.", "error")
        return back
    try:
        removed = backend().groups.remove_member(group.name, user_id)
    except GroupNotFound:
        abort(404, description="There is no group with that name.")
    if removed:
        flash(f"Removed {user_id}.", "success")
    else:
        flash(f"{user_id} is not a member.", "error")
    return back


def groups_confirm_delete(name: str):
    """Ask before deleting a group."""
    return render_template("admin/group_delete.html", group=_group(name))


def groups_delete(name: str):
    """Delete a group and its member list (members keep what they were sent)."""
    if not is_group_name(name) or not backend().groups.delete(name):
        abort(404, description="There is no group with that name.")
    flash(f"Deleted the group “{name}”.", "success")
    return redirect(url_for(".groups"))
