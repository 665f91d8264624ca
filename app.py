"""Development entry point: ``flask --app app run``.

Production serving is ``make run`` (gunicorn with gevent workers, see
gunicorn.conf.py).
"""

from notifier import create_server_app as create_app

__all__ = ["create_app"]
