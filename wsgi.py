"""gunicorn's entry point: gevent's monkey-patching first, then the app."""

from gevent import monkey

monkey.patch_all()

from notifier import create_server_app  # noqa: E402  (must follow patch_all)

app = create_server_app()
