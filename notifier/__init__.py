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
    app = Flask(
        __name__,
        instance_path=_instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _configure(app, test_config)

    from notifier import admin, api, backend, cli, live, web
    from notifier.api import limiter
    from notifier.core import converters, request_ids
    from notifier.scheduling import executors

    request_ids.init_app(app)  # first: its hook runs before any other can refuse
    state = backend.init_app(app)
    limiter.init_app(app, state)
    csrf.init_app(app)
    converters.register(app)
    executors.init_app(app)
    api.init_app(app, csrf)
    web.init_app(app, csrf)
    live.init_app(app)
    admin.init_app(app)
    cli.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def create_server_app() -> Flask:
    """The app as a server starts it: refused on data in a format it does not know
    (:class:`~notifier.stores.data_format.DataFormatError`); on a first start, the data
    format's version and the first admin account."""
    from notifier.backend import backend
    from notifier.bootstrap import create_first_admin, require_known_format

    app = create_app()
    with app.app_context():
        require_known_format(backend())
    if app.config["BOOTSTRAP_ADMIN"]:
        with app.app_context():
            create_first_admin(backend(), app.instance_path)
    return app


def data_format_refusal(embedded_url: str | None = None) -> str:
    """What a server checks before it starts any worker, as :func:`create_server_app`
    does: why the data in Redis is in a format this code does not use, or an empty string
    (``embedded_url`` is used when ``REDIS_URL`` is empty). With Redis unreachable the
    check is left to the workers, which wait for it."""
    import logging

    import redis

    from notifier.core.keys import Keys
    from notifier.stores.connection import connect
    from notifier.stores.data_format import DataFormat, DataFormatError

    app = Flask(__name__, instance_path=_instance_path(), instance_relative_config=True)
    _configure(app, None)
    url = app.config["REDIS_URL"] or embedded_url
    if not url:
        return ""
    try:
        client = connect(url, pool_size=1, client_name=f"notifier:{os.getpid()}")
        try:
            DataFormat(client, Keys(app.config["KEY_PREFIX"])).require_known()
        finally:
            client.close()
    except DataFormatError as exc:
        return str(exc)
    except redis.RedisError as exc:
        logging.getLogger(__name__).warning("could not check the data format: %s", exc)
    return ""


def _instance_path() -> str:
    return os.environ.get("NOTIFIER_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")


def _configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    from notifier import config
    from notifier.bootstrap import instance_secret_key

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
