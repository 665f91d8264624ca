"""Development entry point: ``flask --app app run``.

gevent's monkey-patching comes first, as in wsgi.py: live streams need it.
Production serving is ``make run`` (gunicorn with gevent workers, see
gunicorn.conf.py).
"""

from gevent import monkey

monkey.patch_all()

from notifier import create_server_app as create_app  # noqa: E402  (must follow patch_all)

__all__ = ["create_app"]
