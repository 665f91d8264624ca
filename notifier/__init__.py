"""notifier: real-time notifications for web applications."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

#: The project folder, which holds templates/, static/ and instance/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

csrf = CSRFProtect()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, Redis, extensions and blueprints."""
    instance_path = os.environ.get("NOTIFIER_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _configure(app, test_config)

    from . import (
        admin,
        api,
        api_broadcasts,  # noqa: F401 - its routes join the api blueprint
        api_devices,  # noqa: F401 - its routes join the api blueprint
        api_errors,
        api_groups,  # noqa: F401 - its routes join the api blueprint
        api_me,
        api_notification,  # noqa: F401 - its routes join the api blueprint
        api_preferences,  # noqa: F401 - its routes join the api blueprint
        api_presence,  # noqa: F401 - its routes join the api blueprint
        api_reference,
        api_scheduled,  # noqa: F401 - its routes join the api blueprint
        api_sign_in,  # noqa: F401 - its routes join the api blueprint
        auth,
        backend,
        cli,
        click_views,
        converters,
        device_views,
        events,
        inbox_views,
        invite_views,
        limiter,
        service_worker,
        settings_views,
        sign_in_views,
        templating,
        unsubscribe_views,
        websocket,
        widget_access,
    )
    from .security import SessionInterface, add_security_headers

    state = backend.init_app(app)
    limiter.init_app(app, state)
    auth.login_manager.init_app(app)
    csrf.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer keys, never cookies
    csrf.exempt(api_me.bp)  # the widget API: bearer widget tokens, never cookies
    app.session_interface = SessionInterface()
    converters.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_me.bp)
    app.register_blueprint(api_reference.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(invite_views.bp)
    app.register_blueprint(sign_in_views.bp)
    app.register_blueprint(inbox_views.bp)
    app.register_blueprint(click_views.bp)
    app.register_blueprint(settings_views.bp)
    app.register_blueprint(events.bp)
    websocket.init_app(app)
    app.register_blueprint(device_views.bp)
    app.register_blueprint(service_worker.bp)
    app.register_blueprint(unsubscribe_views.bp)
    csrf.exempt(unsubscribe_views.apply)  # RFC 8058 one-click: the signed token authorises
    admin.init_app(app)
    api_errors.register(app)
    templating.init_app(app)
    cli.init_app(app)
    app.after_request(add_security_headers)
    app.after_request(widget_access.share_client_scripts)
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def create_server_app() -> Flask:
    """The app as a server starts it: on a first start, also the first admin account."""
    from .backend import backend
    from .bootstrap import create_first_admin

    app = create_app()
    if app.config["BOOTSTRAP_ADMIN"]:
        with app.app_context():
            create_first_admin(backend(), app.instance_path)
    return app


def _configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    from . import config
    from .bootstrap import instance_secret_key

    app.config.from_object(config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("NOTIFIER")
    for name in ("REDIS_URL", "SECRET_KEY"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY"]
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the session
