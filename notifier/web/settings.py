"""The signed-in user's settings page: which channels each notification type reaches,
contact details, time zone and quiet hours.

Only the channels this server delivers to are shown (the in-app channel always);
the switches of the others are kept as they are. Types are shown by their labels,
under their categories; a type that may not be turned off shows its locked channels
on and disabled.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import ValidationError

from notifier.backend import backend
from notifier.delivery.channels import configured_channels
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
from notifier.model.types import Catalog
from notifier.web.forms import CHANNEL_NAMES, SettingsForm

log = logging.getLogger(__name__)

bp = Blueprint("settings", __name__)

#: Column headings of the switch matrix.
CHANNEL_LABELS = CHANNEL_NAMES

#: The zones the page offers (region/city names; the legacy aliases are left out).
_LISTED_ZONE = re.compile(
    r"^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)/")


def zone_choices(current: str) -> list[str]:
    """UTC, then every region/city zone in name order, and ``current`` whatever it is."""
    zones = sorted(z for z in timezones() if _LISTED_ZONE.match(z))
    if current not in zones and current != DEFAULT_TIMEZONE:
        zones.append(current)
    return [DEFAULT_TIMEZONE, *zones]


def shown_channels() -> tuple[str, ...]:
    """The channels the page offers: in-app, and those this server delivers to."""
    configured = configured_channels(current_app.config)
    return tuple(c for c in CHANNELS if c == "in_app" or c in configured)


def _rows(prefs: Preferences) -> list[str]:
    """The types the matrix shows: those described, those ever sent and those the user
    set a switch for."""
    known = backend().preferences.known_types()
    return sorted(set(known) | set(prefs.types()) | set(prefs.catalog)
                  )[:MAX_PREFERENCE_TYPES - 1]


def _matrix(prefs: Preferences, rows: list[str]) -> dict[str, dict[str, bool]]:
    """Whether each shown switch is on, as the user sees it: the default row, then every
    type."""
    return {row: {c: prefs.enabled(row, c) for c in shown_channels()}
            for row in [DEFAULT_ROW, *rows]}


@dataclass
class Row:
    """One type's row of the matrix."""

    type: str
    label: str
    description: str
    cells: dict[str, bool]
    #: Channels always on (the type may not be turned off there).
    locked: frozenset[str] = frozenset()
    #: The type has default channels of its own: its switches do not follow the default row.
    own_defaults: bool = False


@dataclass
class Group:
    """A category of types (``name`` empty: those with none)."""

    name: str
    rows: list[Row] = field(default_factory=list)


def _groups(matrix: dict[str, dict[str, bool]], catalog: Catalog) -> list[Group]:
    """The type rows by category: categories in name order, then the types with none;
    types in label order within each."""
    groups: dict[str, Group] = {}
    for kind, cells in matrix.items():
        if kind == DEFAULT_ROW:
            continue
        info = catalog.get(kind)
        row = Row(type=kind, label=info.label if info else kind,
                  description=info.description if info else "", cells=cells)
        if info is not None:
            row.locked = frozenset(c for c in cells if info.locked(c))
            row.own_defaults = info.default_channels is not None
        name = info.category if info else ""
        groups.setdefault(name, Group(name)).rows.append(row)
    for group in groups.values():
        group.rows.sort(key=lambda r: (r.label.casefold(), r.type))
    return sorted(groups.values(), key=lambda g: (g.name == "", g.name.casefold()))


def _page(form: SettingsForm, matrix: dict[str, dict[str, bool]], catalog: Catalog, *,
          zone_unset: bool, status: int = 200):
    form.timezone.choices = zone_choices(form.timezone.data or DEFAULT_TIMEZONE)
    zone_attrs = {"autocomplete": "off"}
    if zone_unset:  # the page's script then picks the browser's zone
        zone_attrs["data-zone-unset"] = "true"
    if form.timezone.errors:
        zone_attrs.update({"aria-invalid": "true", "aria-describedby": "timezone-error"})
    channels = shown_channels()
    return render_template("settings/index.html", form=form, default=matrix[DEFAULT_ROW],
                           groups=_groups(matrix, catalog), rows=list(matrix)[1:],
                           channels=channels, labels=CHANNEL_LABELS,
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
    return _page(form, _matrix(prefs, _rows(prefs)), prefs.catalog, zone_unset=not stored)


@bp.post("/settings")
@login_required
def save():
    """Save the settings and say so; show each problem beside its field."""
    form = SettingsForm()
    store = backend().preferences
    current = store.load(current_user.user_id)
    catalog = current.catalog
    rows = [r for r in request.form.getlist("rows") if is_type(r) and r != DEFAULT_ROW]
    submitted = {row: {c: request.form.get(f"ch:{row}:{c}") == "1" for c in shown_channels()}
                 for row in [DEFAULT_ROW, *rows[:MAX_PREFERENCE_TYPES - 1]]}
    if not form.validate_on_submit():
        return _page(form, submitted, catalog, zone_unset=False, status=400)
    _keep_hidden_contacts(form, current)
    locked_off = [(row, c) for row, cells in submitted.items() for c, on in cells.items()
                  if not on and row in catalog and catalog[row].locked(c)]
    for row, channel in locked_off:
        form.form_errors.append(f"{catalog[row].label} cannot be turned off for "
                                f"{CHANNEL_LABELS[channel]}.")
    prefs = _validated(form, _switches(current, submitted))
    if prefs is None or locked_off:
        if not form.form_errors:
            form.form_errors.append("Nothing was saved: please check the fields marked below.")
        return _page(form, submitted, catalog, zone_unset=False, status=422)
    store.save(current_user.user_id, prefs)
    log.info("preferences saved for %s", current_user.user_id)
    flash("Settings saved.", "success")
    return redirect(url_for("settings.index"))


def _keep_hidden_contacts(form: SettingsForm, current: Preferences) -> None:
    """The contact fields the page did not show (their channel is not delivered) keep
    what is stored."""
    configured = configured_channels(current_app.config)
    if "email" not in configured:
        form.email.data = current.email or ""
    if "sms" not in configured:
        form.phone.data = current.phone or ""


def _switches(current: Preferences, submitted: dict[str, dict[str, bool]]
              ) -> dict[str, dict[str, bool]]:
    """The switches to store: the whole default row as shown, and for each type only
    where it differs from what it follows (its described defaults, else the default
    row). A switch that followed and was left as it showed keeps following, so changing
    the default row moves every such switch. Switches of channels not shown are kept as
    stored; locked ones need none."""
    default = submitted[DEFAULT_ROW]
    channels: dict[str, dict[str, bool]] = {}
    for (row, channel), on in current.switches.items():
        if channel not in default:
            channels.setdefault(row, {})[channel] = on
    channels.setdefault(DEFAULT_ROW, {}).update(default)
    for row, cells in submitted.items():
        if row == DEFAULT_ROW:
            continue
        info = current.catalog.get(row)
        for channel, on in cells.items():
            if info is not None and info.locked(channel):
                continue
            followed = (row, channel) not in current.switches
            if followed and on == current.enabled(row, channel):
                continue  # untouched: keeps following
            own_default = info.default(channel) if info is not None else None
            if on != (default[channel] if own_default is None else own_default):
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
