"""Admin console, Types: describe notification types (label, description, category,
default channels, whether users may turn them off), edit and forget them.

What a form says is validated by the API's ``TypeRequest``, as ``PUT /api/v1/types``.
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, url_for
from pydantic import ValidationError

from notifier.backend import backend
from notifier.model.preferences import is_type
from notifier.model.requests import TypeRequest
from notifier.model.types import TypeInfo
from notifier.web.forms import CHANNEL_NAMES, TypeForm

_FIELDS = ("label", "description", "category", "default_channels", "user_can_disable")


def _page(form: TypeForm, *, editing: TypeInfo | None = None, status: int = 200):
    return render_template("admin/types.html", form=form, types=backend().types.all(),
                           editing=editing, channel_names=CHANNEL_NAMES), status


def _form_of(info: TypeInfo) -> TypeForm:
    return TypeForm(data={
        "type": info.type, "label": info.label, "description": info.description,
        "category": info.category, "user_can_disable": info.user_can_disable,
        "defaults": "row" if info.default_channels is None else "own",
        "default_channels": list(info.default_channels or ())})


def types():
    """The described types, and a form to describe one."""
    return _page(TypeForm())


def types_edit(slug: str):
    """One described type's form."""
    info = backend().types.get(slug) if is_type(slug) and slug != "*" else None
    if info is None:
        abort(404, description="No type is described by that name.")
    return _page(_form_of(info), editing=info)


def types_save():
    """Describe a type, or replace its description."""
    form = TypeForm()
    form.validate_on_submit()
    slug = (form.type.data or "").strip()
    if form.form_errors or form.csrf_token.errors:
        return _page(form, status=400)
    if slug == "*" or not is_type(slug):
        form.type.errors = ["Lowercase letters, digits and _ . - only, starting with a "
                            "letter or digit (up to 64)."]
    doc = {"label": (form.label.data or "").strip(),
           "description": (form.description.data or "").strip(),
           "category": (form.category.data or "").strip(),
           "default_channels": (list(form.default_channels.data or [])
                                if form.defaults.data == "own" else None),
           "user_can_disable": bool(form.user_can_disable.data)}
    try:
        body = TypeRequest.model_validate_json(json.dumps(doc))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "label"
            field = form[name if name in _FIELDS else "label"]
            if not field.errors:
                field.errors = [_message(error)]
        return _page(form, status=422)
    if form.type.errors:
        return _page(form, status=422)
    info, created = backend().types.put(body.to_info(slug))
    flash(f"{'Described' if created else 'Saved'} “{info.label}” ({info.type}).", "success")
    return redirect(url_for(".types"))


def types_delete(slug: str):
    """Forget a type's description: it shows as its slug again."""
    if not is_type(slug) or slug == "*" or not backend().types.delete(slug):
        abort(404, description="No type is described by that name.")
    flash(f"Forgot the description of {slug}: it shows as its name again.", "success")
    return redirect(url_for(".types"))


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return "Enter a label."
    if kind == "string_too_long":
        return f"At most {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return "One line of visible text, please."
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].upper() + message[1:].rstrip(".") + "."
