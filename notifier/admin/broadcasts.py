"""Admin console, Broadcasts: compose one (now or scheduled), list them, end a window early.

The form is turned into the API's own ``BroadcastRequest`` (through its JSON
form, as the API parses it), so what the console accepts is exactly what the
API accepts; only the wording of the messages differs. Times are entered in the
admin's browser zone: next to each ``datetime-local`` input the page's script
fills a hidden field with that time's UTC offset (DST included); without the
script the field is empty and the time is read as UTC, as the form then says.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from pydantic import ValidationError
from wtforms.fields.choices import SelectChoice

from notifier.backend import backend
from notifier.core.idempotency import IdempotencyConflict
from notifier.model.requests import (
    MAINTENANCE_NEEDS_WINDOW,
    WINDOW_BACKWARDS,
    WINDOW_NEEDS_END,
    WINDOW_NEEDS_START,
    BroadcastRequest,
)
from notifier.model.types import BROADCAST_LABELS, chip_of
from notifier.scheduling.announcements import schedule_broadcast
from notifier.stores.broadcasts import Broadcast, BroadcastError
from notifier.web.forms import BROADCAST_TIMES, MAX_OFFSET_MINUTES, BroadcastForm

#: Scope of the idempotency records of the console's sends (API keys use their id).
IDEMPOTENCY_SCOPE = "admin"

#: The labels of :func:`broadcast_state`.
STATES = {"active": "Active", "expired": "Expired", "upcoming": "Upcoming",
          "in_progress": "In progress", "ended": "Ended"}


def broadcast_state(broadcast: Broadcast, now: datetime) -> str:
    """``active`` or ``expired``; with a window, ``upcoming``, ``in_progress`` or ``ended``."""
    expired = broadcast.expires_at is not None and datetime.fromisoformat(
        broadcast.expires_at) <= now
    if broadcast.ends_at is None:
        return "expired" if expired else "active"
    if datetime.fromisoformat(broadcast.ends_at) <= now:
        return "ended"
    if expired:
        return "expired"
    return "upcoming" if now < datetime.fromisoformat(broadcast.starts_at) else "in_progress"


def can_end(state: str) -> bool:
    """Whether "End now" applies: the window is still to come or under way."""
    return state in ("upcoming", "in_progress")


def kind_choices() -> list[SelectChoice]:
    """The compose form's kinds, named as the inbox names them: the console's two, then
    every other described type."""
    catalog = backend().types.catalog()
    kinds = [*BROADCAST_LABELS, *sorted(set(catalog) - set(BROADCAST_LABELS),
                                        key=lambda slug: catalog[slug].label.casefold())]
    return [SelectChoice(slug, chip_of(catalog, slug, "broadcast")) for slug in kinds]


def _page(form: BroadcastForm, status: int = 200):
    form.type.choices = kind_choices()
    state = backend()
    size = current_app.config["ADMIN_PAGE_SIZE"]
    now = datetime.now(UTC)
    broadcasts = [(b, broadcast_state(b, now)) for b in state.broadcasts.recent(size)]
    scheduled, more = state.scheduler.list(limit=size, kind="broadcast")
    return render_template("admin/broadcasts.html", form=form, broadcasts=broadcasts,
                           states=STATES, can_end=can_end, scheduled=scheduled,
                           more_scheduled=more is not None), status


def _fresh_form() -> BroadcastForm:
    return BroadcastForm(request_id=secrets.token_urlsafe(16))


def broadcasts():
    """The compose form with its preview, scheduled broadcasts, and recent ones."""
    return _page(_fresh_form())


def broadcasts_create():
    """Send a broadcast now, or schedule it for its send time."""
    form = BroadcastForm()
    form.validate_on_submit()  # the form's mechanics; the content is validated below
    if form.request_id.errors:
        form.form_errors.append("This form is out of date. Please check it and send again.")
        form.request_id.data = secrets.token_urlsafe(16)
        return _page(form, 422)
    broadcast = _request_from(form)
    if broadcast is None:
        return _page(form, 422)
    fingerprint = hashlib.sha256(broadcast.model_dump_json().encode()).hexdigest()
    idempotency = (IDEMPOTENCY_SCOPE, form.request_id.data, fingerprint)
    try:
        if broadcast.send_at is not None:
            item = schedule_broadcast(broadcast, created_by=f"admin:{current_user.user_id}",
                                      idempotency=idempotency)
            replayed = item.replayed
        else:
            _, replayed = backend().broadcasts.create(broadcast, idempotency=idempotency)
    except IdempotencyConflict:
        form.form_errors.append("This form was sent already, with other content (see the "
                                "lists below). Send it again to send this one too.")
        form.request_id.data = secrets.token_urlsafe(16)
        return _page(form, 422)
    if replayed:
        flash("That form was sent already; it made the broadcast listed below, once.", "info")
    elif broadcast.send_at is not None:
        flash(f"Scheduled “{broadcast.title}” for "
              f"{broadcast.send_at.astimezone(UTC):%d %b %Y, %H:%M} UTC.", "success")
    else:
        flash(f"Sent “{broadcast.title}” to everyone.", "success")
    return redirect(url_for(".broadcasts"))


def broadcasts_end(broadcast_id: str):
    """End the window a broadcast announces, now (maintenance finished early)."""
    try:
        ended = backend().broadcasts.end_now(broadcast_id)
    except BroadcastError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".broadcasts"))
    if ended is None:
        abort(404, description="There is no broadcast with that id.")
    flash(f"Ended the window of “{ended.title}” now.", "success")
    return redirect(url_for(".broadcasts"))


# -- from the form to the API's model ---------------------------------------------
def _aware(form: BroadcastForm, name: str) -> str | None:
    """The field's time as ISO 8601 with its UTC offset (None when empty or broken)."""
    field, offset = form[name], form[f"{name}_offset"]
    if field.errors or field.data is None:
        return None
    minutes = int(offset.data) if offset.data and not offset.errors else 0
    if offset.errors or abs(minutes) > MAX_OFFSET_MINUTES:
        field.errors = [*field.errors, "Your browser sent an impossible time zone; "
                                       "reload the page and try again."]
        return None
    return field.data.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


def _request_from(form: BroadcastForm) -> BroadcastRequest | None:
    """The form as a validated request; None after putting the errors on the fields."""
    doc: dict[str, Any] = {
        "type": form.type.data, "title": form.title.data or "", "body": form.body.data or "",
        "priority": form.priority.data, "link": form.link.data or None,
    }
    for name in BROADCAST_TIMES:
        doc[name] = _aware(form, name)
    try:
        broadcast = BroadcastRequest.model_validate_json(json.dumps(doc))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _attach(form, error, doc)
        _check_window(form, doc)
        if not any(form[name].errors for name in form.data):
            form.form_errors.append("The broadcast is not valid.")  # a safety net
        return None
    if any(form[name].errors for name in BROADCAST_TIMES):
        return None
    return broadcast


_WINDOW = {
    WINDOW_NEEDS_END: "Give the window both a start and an end.",
    WINDOW_NEEDS_START: "Give the window both a start and an end.",
    WINDOW_BACKWARDS: "The window must end after it starts.",
    MAINTENANCE_NEEDS_WINDOW: "A maintenance notice announces a window: give its start "
                              "and end.",
}


def _check_window(form: BroadcastForm, doc: dict[str, Any]) -> None:
    """Show the window's errors along with the others.

    pydantic checks across fields only once every field is valid; so that one
    round trip shows every problem, the model checks the window alone too.
    """
    if form.type.errors or form.starts_at.errors or form.ends_at.errors:
        return
    window = {"title": "-", "type": doc["type"], "starts_at": doc["starts_at"],
              "ends_at": doc["ends_at"]}
    try:
        BroadcastRequest.model_validate_json(json.dumps(window))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["msg"] in _WINDOW:
                _attach(form, error, doc)


def _attach(form: BroadcastForm, error: dict, doc: dict[str, Any]) -> None:
    """Put one pydantic error on the field it concerns, in the console's words."""
    loc = error["loc"]
    if loc == ("ends_at",) and error["msg"] == MAINTENANCE_NEEDS_WINDOW:
        return  # the console says it once, on the start
    if loc and isinstance(loc[0], str) and loc[0] in form.data:
        field = form[loc[0]]
        if not field.errors:  # one message per field: the first problem
            field.errors = [_WINDOW.get(error["msg"]) or _message(error)]
        return
    message = error["msg"].removeprefix("Value error, ")
    form.form_errors.append(message[:1].upper() + message[1:] + ".")


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return "Write a title." if error["loc"] == ("title",) else "This cannot be empty."
    if kind == "string_too_long":
        return f"At most {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return "Lowercase letters, digits and _ . - only."
    if kind == "literal_error":
        return f"Choose one of: {ctx.get('expected', '')}."
    message = error["msg"].removeprefix("Value error, ")
    message = message.replace("must be before expires_at",
                              "must be before it expires (and before its window ends)")
    return message[:1].upper() + message[1:] + "."

