"""Documented defaults of every setting.

Each setting may be overridden by ``instance/config.py`` and then by an
environment variable ``NOTIFIER_<NAME>`` (values are parsed as JSON when they
can be, so ``NOTIFIER_INBOX_MAX=500`` is a number). ``REDIS_URL`` and
``SECRET_KEY`` are read without the prefix, as most hosting platforms set them.
"""

from __future__ import annotations

#: Redis to use: ``redis://``, ``rediss://`` or ``unix://``. Empty: the app
#: starts and owns a private redis-server under ``instance/redis/``.
REDIS_URL = ""

#: Signs sessions and tokens. Empty: generated once and kept in ``instance/secret_key``.
SECRET_KEY = ""

#: Prefix of every Redis key and channel.
KEY_PREFIX = "notifier"

#: Notifications kept per user; older ones are trimmed (in steps of 100).
INBOX_MAX = 1000

#: Broadcasts retained (each stored once, whatever the number of users); the
#: oldest beyond this leave every inbox.
BROADCAST_MAX = 1000

#: Members a group may have. Group sends copy into each member's inbox; for
#: bigger audiences use broadcasts (stored once for everyone).
GROUP_MAX_MEMBERS = 10_000

#: How long an ``idempotency_key`` is remembered, in seconds.
IDEMPOTENCY_TTL = 24 * 3600

#: Largest request body accepted by the API, in bytes (413 above it).
MAX_BODY = 64 * 1024

#: Largest body of ``POST /api/v1/notifications/batch`` (1000 notifications), in bytes.
MAX_BATCH_BODY = 4 * 1024 * 1024

#: Seconds a verified API key is remembered by each worker process; a revoked
#: key keeps working for at most this long. 0 checks Redis on every request.
API_KEY_CACHE_SECONDS = 5

#: Whether anyone may create an account at ``/register``.
ALLOW_REGISTRATION = True

#: On a server's first start (gunicorn or ``flask run``) with no accounts, create
#: ``admin`` with a generated password and print both once.
BOOTSTRAP_ADMIN = True

#: Failed sign-ins allowed per account (Flask-Limiter syntax).
LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"

#: Failed sign-ins allowed per client IP address.
LOGIN_LIMIT_PER_IP = "30 per 15 minutes"

#: Reverse proxies in front of the app whose ``X-Forwarded-*`` headers are
#: trusted (0: none). Needed for correct client IPs and https detection.
TRUSTED_PROXIES = 0

#: Mark the session cookie Secure even on plain http (it always is over https).
SESSION_COOKIE_SECURE = False

#: Notifications per page in the inbox.
INBOX_PAGE_SIZE = 25

#: Rows per page in the admin console's lists (users).
ADMIN_PAGE_SIZE = 50

#: Seconds between heartbeat comments on an idle event stream (proxies cut idle
#: connections after 60-100 s); a closed client is noticed within one heartbeat.
SSE_HEARTBEAT = 15

#: Milliseconds a browser waits before reconnecting a dropped stream (``retry:``).
SSE_RETRY_MS = 3000

#: Events buffered per stream; a client that falls this far behind is disconnected
#: (it reconnects and replays from its last event id).
SSE_QUEUE_SIZE = 256

#: Streams a worker sets up (subscribe, replay) at once; in a reconnect storm the
#: others wait their turn, which keeps every stream's setup fast.
SSE_SETUP_CONCURRENCY = 64

#: Seconds between the hub's PINGs on its Pub/Sub connection; three missed
#: intervals count as a lost connection.
SSE_HUB_PING = 5

#: Seconds between a worker's presence heartbeats. A user is online while one of
#: their event streams is open; a worker that dies leaves its users online for at
#: most two intervals (their entries expire 1.5 intervals after the last heartbeat).
PRESENCE_INTERVAL = 10

#: Seconds between each worker's stats reports (streams, users, sent, delivered);
#: a worker silent for three intervals is dropped from the list.
STATS_INTERVAL = 1

#: Redis connections each worker's pool may open (the hub's Pub/Sub connection
#: comes on top). Requests wait for a free one rather than opening more.
REDIS_POOL_SIZE = 3

#: Run scheduled sends from every gunicorn worker (one greenlet each). Set it to
#: false to leave them to ``notifier scheduler`` processes instead.
SCHEDULER = True

#: Longest wait, in seconds, between a scheduler's looks for due items (it also
#: wakes exactly when the next one is due).
SCHEDULER_POLL = 0.25

#: Seconds a claimed item is reserved for the process running it; if that
#: process stops mid-run, another runs the item again after this long.
SCHEDULER_LEASE = 30

#: Attempts a scheduled item gets (retried after 1, 2, 4 ... s) before it is kept
#: as failed.
SCHEDULER_MAX_ATTEMPTS = 5

# -- widget tokens and the widget API (other sites embedding the widget) --------

#: Shortest lifetime, in seconds, a widget token may be minted with (the longest
#: is 24 h). Lower it only for tests: the JS client refreshes a token before it expires.
WIDGET_TOKEN_MIN_TTL = 10

#: Seconds a browser may cache the answer to a CORS preflight of the widget API
#: (``Access-Control-Max-Age``; Chromium caps it at 7200).
WIDGET_PREFLIGHT_MAX_AGE = 600
