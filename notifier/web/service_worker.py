"""``/sw.js``: the service worker that shows web push notifications.

Served from the site's root (not ``/static/``), so its scope is the whole site:
a worker's scope cannot be above the folder of its script unless the server
allows it. It must not be cached for long, or browsers keep an old worker.
"""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("service_worker", __name__)


@bp.get("/sw.js")
def script():
    """The service worker script, scoped to the whole site."""
    response = send_from_directory(current_app.static_folder, "sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
