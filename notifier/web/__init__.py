"""The pages people use: sign-in, inbox, settings, devices, and the links in emails and
pushes. Each page's module has its own blueprint, as in Flask's tutorial; :func:`init_app`
serves them all with sessions, CSRF protection, security headers and error pages."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from notifier.web import (
    auth,
    clicks,
    devices,
    errors,
    health,
    inbox,
    invites,
    metrics,
    service_worker,
    settings,
    sign_in,
    templating,
    unsubscribe,
)
from notifier.web.security import SessionInterface, add_security_headers

#: Every page blueprint, in the order they are registered.
BLUEPRINTS = (auth.bp, invites.bp, sign_in.bp, inbox.bp, clicks.bp, settings.bp, devices.bp,
              service_worker.bp, unsubscribe.bp, health.bp, metrics.bp)


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Serve the pages on ``app``."""
    auth.login_manager.init_app(app)
    app.session_interface = SessionInterface()
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    csrf.exempt(unsubscribe.apply)  # RFC 8058 one-click: the signed token authorises
    errors.register(app)
    templating.init_app(app)
    app.after_request(add_security_headers)
