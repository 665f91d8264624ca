"""gunicorn's entry point: gevent's monkey-patching first, then the app."""

from gevent import monkey

monkey.patch_all()

from gunicorn.errors import AppImportError  # noqa: E402

from notifier import create_server_app  # noqa: E402  (must follow patch_all)
from notifier.stores.data_format import DataFormatError  # noqa: E402

try:
    app = create_server_app()
except DataFormatError as exc:
    # gunicorn prints this one line and stops (rather than restarting the worker).
    raise AppImportError(f"notifier: cannot start: {exc}") from None
