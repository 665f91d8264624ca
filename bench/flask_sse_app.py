"""The flask-sse baseline: its blueprint as documented, nothing else.

Served by the same gunicorn.conf.py (gevent workers, same worker settings) with
REDIS_URL set, so the comparison differs only in the app.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

from flask import Flask  # noqa: E402
from flask_sse import sse  # noqa: E402

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ["REDIS_URL"]
app.register_blueprint(sse, url_prefix="/stream")
