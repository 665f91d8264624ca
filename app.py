"""Development entry point: ``flask --app app run``.

Flask finds ``create_app`` here. Production serving is ``make run`` (gunicorn
with gevent workers, see gunicorn.conf.py).
"""

from notifier import create_app

__all__ = ["create_app"]
