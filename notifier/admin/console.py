"""The admin console at ``/admin``: its guard, its sections and the frame they share.

Every route on :data:`bp` is for admins only. The guard runs before each request
the blueprint serves, so a route added later is protected without doing
anything: anonymous visitors are sent to sign in, signed-in non-admins get 403.
Views that answer JSON or an event stream (marked with :func:`json_view` or
:func:`stream_view`, or asked for by ``Accept``) get a JSON 401 or 403 instead.

A section is an entry in :data:`SECTIONS` plus views whose endpoint names start
with the section's (``admin.users``, ``admin.users_disable``); its templates
extend ``admin/layout.html`` and fill ``admin_content``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from notifier.core.errors import ApiError
from notifier.live.sse_view import come_back_later

bp = Blueprint("admin", __name__, url_prefix="/admin")

View = TypeVar("View", bound=Callable)


@dataclass(frozen=True)
class Section:
    """One entry of the console's section nav."""

    endpoint: str
    label: str
    icon: str  # SVG path data, 24x24 viewBox

    def holds(self, endpoint: str | None) -> bool:
        """Whether ``endpoint`` is this section's page or one of its sub-pages."""
        return endpoint == self.endpoint or (endpoint or "").startswith(self.endpoint + "_")


#: The console's sections, in nav order.
SECTIONS = (
    Section("admin.overview", "Overview",
            "M4 13h6V4H4v9Zm0 7h6v-5H4v5Zm8 0h8v-9h-8v9Zm0-16v5h8V4h-8Z"),
    Section("admin.broadcasts", "Broadcasts",
            "M18 11v2h4v-2h-4Zm-2 6.6 3.2 2.4 1.2-1.6-3.2-2.4-1.2 1.6ZM20.4 5.6 19.2 4 16 6.4"
            "l1.2 1.6 3.2-2.4ZM4 9a2 2 0 0 0-2 2v2a2 2 0 0 0 2 2h1v4h2v-4h1l5 3V6L8 9H4Zm11.5 3"
            "c0-1.3-.6-2.5-1.5-3.4v6.8c.9-.9 1.5-2.1 1.5-3.4Z"),
    Section("admin.scheduled", "Scheduled",
            "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16Zm.5-13H11"
            "v6l5.2 3.2.8-1.3-4.5-2.7V7Z"),
    Section("admin.deliveries", "Deliveries",
            "M2 21 23 12 2 3v7l15 2-15 2v7Z"),
    Section("admin.groups", "Groups",
            "M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm0 2c-2.3 0-7 1.2"
            "-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13Zm8 0h-1c1.2.8 2 2 2 3.5V19h6v-2.5c0-2.3-4.7"
            "-3.5-7-3.5Z"),
    Section("admin.types", "Types",
            "M21.4 11.6 12.4 2.6A2 2 0 0 0 11 2H4a2 2 0 0 0-2 2v7c0 .6.2 1.1.6 1.4l9 9a2 2 0 0 0 "
            "2.8 0l7-7a2 2 0 0 0 0-2.8ZM5.5 7a1.5 1.5 0 1 1 0-3 1.5 1.5 0 0 1 0 3Z"),
    Section("admin.users", "Users",
            "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4Z"),
    Section("admin.api_keys", "API keys",
            "M12.6 10A6 6 0 1 0 7 18a6 6 0 0 0 5.6-4H17v4h4v-4h2v-4H12.6ZM7 14a2 2 0 1 1 0-4 2 2"
            " 0 0 1 0 4Z"),
)

_NON_HTML = ("application/json", "text/event-stream")


def json_view(view: View) -> View:
    """Mark an admin view as answering JSON or an event stream: the guard then
    refuses it with a JSON 401/403 rather than a redirect or an HTML page."""
    view.admin_json = True  # type: ignore[attr-defined]
    return view


def stream_view(view: View) -> View:
    """Mark an admin view as an event stream (a JSON view whose browser must keep
    retrying): while Redis is unreachable the guard answers 200 with a ``retry:``
    hint, because an EventSource gives up for good on a 5xx."""
    view.admin_stream = True  # type: ignore[attr-defined]
    return json_view(view)


def wants_json() -> bool:
    """Whether this request is for a JSON or event-stream view, or prefers those."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "admin_json", False):
        return True
    accept = request.accept_mimetypes
    html = accept.quality("text/html")
    return any(accept.quality(kind) > html for kind in _NON_HTML)


@bp.before_request
def require_admin():
    """Let admins through; send anonymous visitors to sign in; refuse everyone else."""
    try:
        signed_in = current_user.is_authenticated
    except (redis.ConnectionError, redis.TimeoutError):
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "admin_stream", False):
            return come_back_later()
        raise
    if not signed_in:
        if wants_json():
            raise ApiError(401, "unauthorized", "Sign in as an admin.")
        flash("Sign in as an admin to open the admin console.", "info")
        here = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
        return redirect(url_for("auth.login", next=here or url_for("admin.overview")))
    if not current_user.is_admin:
        if wants_json():
            raise ApiError(403, "forbidden", "The admin console is for admins only.")
        abort(403, description="The admin console is for admins only.")
    return None


@bp.context_processor
def _sections() -> dict:
    current = next((s for s in SECTIONS if s.holds(request.endpoint)), None)
    return {"admin_sections": SECTIONS, "admin_section": current}
