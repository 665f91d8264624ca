"""The signed-in user's settings page: which channels each notification type reaches,
contact details, time zone and quiet hours."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import ValidationError

from notifier.backend import backend
from notifier.model.channels import CHANNELS
from notifier.model.preferences import (
    DEFAULT_ROW,
    DEFAULT_TIMEZONE,
    Preferences,
    format_hhmm,
    is_type,
    timezones,
)
from notifier.model.requests import MAX_PREFERENCE_TYPES, PreferencesRequest
from notifier.web.forms import SettingsForm

log = logging.getLogger(__name__)

bp = Blueprint("settings", __name__)

#: Column headings of the switch matrix.
CHANNEL_LABELS = {"in_app": "In-app", "web_push": "Browser push", "email": "Email",
                  "mobile_push": "Mobile push", "sms": "SMS"}

#: The zones the page offers (region/city names; the legacy aliases are left out).
_LISTED_ZONE = re.compile(
    r"^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)/")


def zone_choices(current: str) -> list[str]:
    """UTC, then every region/city zone in name order, and ``current`` whatever it is."""
    zones = sorted(z for z in timezones() if _LISTED_ZONE.match(z))
    if current not in zones and current != DEFAULT_TIMEZONE:
        zones.append(current)
    return [DEFAULT_TIMEZONE, *zones]


def _rows(prefs: Preferences) -> list[str]:
    """The types the matrix shows: those ever sent and those the user set a switch for."""
    known = backend().preferences.known_types()
    return sorted(set(known) | set(prefs.types()))[:MAX_PREFERENCE_TYPES - 1]


def _matrix(prefs: Preferences, rows: list[str]) -> dict[str, dict[str, bool]]:
    """Whether each switch is on, as the user sees it: the default row, then every type."""
    return {row: {c: prefs.enabled(row, c) for c in CHANNELS} for row in [DEFAULT_ROW, *rows]}


def _page(form: SettingsForm, matrix: dict[str, dict[str, bool]], *, zone_unset: bool,
          status: int = 200):
    form.timezone.choices = zone_choices(form.timezone.data or DEFAULT_TIMEZONE)
    zone_attrs = {"autocomplete": "off"}
    if zone_unset:  # the page's script then picks the browser's zone
        zone_attrs["data-zone-unset"] = "true"
    if form.timezone.errors:
        zone_attrs.update({"aria-invalid": "true", "aria-describedby": "timezone-error"})
    return render_template("settings/index.html", form=form, matrix=matrix,
                           channels=CHANNELS, labels=CHANNEL_LABELS,
                           zone_attrs=zone_attrs), status


@bp.get("/settings")
@login_required
def index():
    """Show the user's settings: contact details, time zone, quiet hours and channels."""
    prefs = backend().preferences.load(current_user.user_id)
    form = SettingsForm(data={
        "email": prefs.email or "", "phone": prefs.phone or "", "timezone": prefs.timezone,
        "quiet_start": format_hhmm(prefs.quiet_start) if prefs.quiet_start else "",
        "quiet_end": format_hhmm(prefs.quiet_end) if prefs.quiet_end else ""})
    stored = backend().redis.hexists(backend().keys.preferences(current_user.user_id),
                                     "timezone")
    return _page(form, _matrix(prefs, _rows(prefs)), zone_unset=not stored)


@bp.post("/settings")
@login_required
def save():
    """Save the settings and say so; show each problem beside its field."""
    form = SettingsForm()
    store = backend().preferences
    current = store.load(current_user.user_id)
    rows = [r for r in request.form.getlist("rows") if is_type(r) and r != DEFAULT_ROW]
    submitted = {row: {c: request.form.get(f"ch:{row}:{c}") == "1" for c in CHANNELS}
                 for row in [DEFAULT_ROW, *rows[:MAX_PREFERENCE_TYPES - 1]]}
    if not form.validate_on_submit():
        return _page(form, submitted, zone_unset=False, status=400)
    prefs = _validated(form, _switches(current, submitted))
    if prefs is None:
        if not form.form_errors:
            form.form_errors.append("Nothing was saved: please check the fields marked below.")
        return _page(form, submitted, zone_unset=False, status=422)
    store.save(current_user.user_id, prefs)
    log.info("preferences saved for %s", current_user.user_id)
    flash("Settings saved.", "success")
    return redirect(url_for("settings.index"))


def _switches(current: Preferences, submitted: dict[str, dict[str, bool]]
              ) -> dict[str, dict[str, bool]]:
    """The switches to store: the whole default row, and for each type only where it
    differs from that row. A switch that followed the default row and was left as it
    showed keeps following it, so changing the default row moves every such switch."""
    default = submitted[DEFAULT_ROW]
    channels: dict[str, dict[str, bool]] = {DEFAULT_ROW: dict(default)}
    for row, cells in submitted.items():
        if row == DEFAULT_ROW:
            continue
        for channel, on in cells.items():
            followed = (row, channel) not in current.switches
            if followed and on == current.enabled(row, channel):
                continue  # untouched: keeps following the default row
            if on != default[channel]:
                channels.setdefault(row, {})[channel] = on
    return channels


def _validated(form: SettingsForm, channels: dict[str, dict[str, bool]]) -> Preferences | None:
    """The page's values as a checked document, through the API's model; None after
    putting each problem on its field."""
    start, end = form.quiet_start.data or "", form.quiet_end.data or ""
    half = bool(start) != bool(end)
    if half:  # shown together with whatever else is wrong
        missing = form.quiet_end if start else form.quiet_start
        missing.errors = ["Give both times, or leave both empty for no quiet hours."]
    doc: dict[str, Any] = {
        "email": form.email.data or None, "phone": form.phone.data or None,
        "timezone": form.timezone.data or DEFAULT_TIMEZONE,
        "quiet_hours": {"start": start, "end": end} if start and end else None,
        "channels": channels,
    }
    try:
        prefs = PreferencesRequest.model_validate_json(json.dumps(doc)).to_preferences()
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _attach(form, error)
        return None
    return None if half else prefs


_FIELD_OF = {"email": "email", "phone": "phone", "timezone": "timezone",
             "quiet_hours": "quiet_start"}


def _attach(form: SettingsForm, error: dict) -> None:
    """Put one pydantic error on the field it concerns, in the page's words."""
    loc = error["loc"]
    name = _FIELD_OF.get(str(loc[0])) if loc else None
    if name == "quiet_start" and len(loc) > 1 and loc[1] == "end":
        name = "quiet_end"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_too_long":
        message = "This is too long"
    message = message[:1].upper() + message[1:].rstrip(".") + "."
    if name is None:
        form.form_errors.append(message)
    elif not form[name].errors:
        form[name].errors = [message]
