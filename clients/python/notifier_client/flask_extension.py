"""A Flask extension: one :class:`~notifier_client.Notifier` per app, configured by
``NOTIFIER_URL`` and ``NOTIFIER_API_KEY`` (and ``NOTIFIER_TIMEOUT``, seconds).

::

    notifier = NotifierClient()

    def create_app():
        app = Flask(__name__)
        app.config.from_prefixed_env()
        notifier.init_app(app)
        return app

    # in a view, a CLI command or anything with the app's context:
    notifier.send(current_user.id, "Welcome!")
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from notifier_client.surface import Methods
from notifier_client.sync_client import Notifier

#: Where the extension keeps each app's client.
EXTENSION = "notifier_client"

_METHODS = frozenset(name for name in vars(Methods) if not name.startswith("_"))


class NotifierClient:
    """The current app's :class:`~notifier_client.Notifier`: its methods are this
    object's (``notifier.send(...)``); :attr:`client` is the client itself."""

    def __init__(self, app: Flask | None = None, **options: Any):
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Build the app's client from its configuration."""
        url, key = app.config.get("NOTIFIER_URL"), app.config.get("NOTIFIER_API_KEY")
        if not url or not key:
            raise RuntimeError("NotifierClient needs NOTIFIER_URL and NOTIFIER_API_KEY in "
                               "the app's config")
        timeout = float(app.config.get("NOTIFIER_TIMEOUT", 10.0))
        app.extensions[EXTENSION] = Notifier(url, key, timeout=timeout, **self._options)

    @property
    def client(self) -> Notifier:
        """The current app's client."""
        try:
            return current_app.extensions[EXTENSION]
        except KeyError:
            raise RuntimeError("NotifierClient.init_app(app) was not called for this "
                               "app") from None

    def __getattr__(self, name: str) -> Any:
        if name in _METHODS:
            return getattr(self.client, name)
        raise AttributeError(name)
