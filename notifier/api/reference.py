"""``GET /api/docs``: the served OpenAPI document, rendered by a vendored Swagger UI.

Swagger UI (``static/vendor/swagger-ui/``, its version in ``VERSION.md``) and the
script that starts it are static files of this app, so the page keeps the app's
Content-Security-Policy: no inline script or style, nothing from other origins.
"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_reference", __name__)


@bp.get("/api/docs")
def page():
    """The API reference: every operation of ``/api/v1/openapi.json``, browsable."""
    return render_template("api_reference.html")
