"""gunicorn settings for notifier: gevent workers for many long-lived streams.

Each setting can be changed with the environment variable named beside it.
When ``REDIS_URL`` is not set, the master starts (or adopts) the embedded
redis-server before forking workers and shuts it down after they have exited.
"""

import contextlib
import os
import traceback

from notifier import PROJECT_ROOT
from notifier.core.listening import AddressTaken, check_free, url_of
from notifier.core.metrics_files import mark_process_dead, prepare_multiprocess_dir
from notifier.stores.embedded_redis import EmbeddedRedis

#: Folder for the secret key, the embedded Redis, the VAPID key and ``config.py``
#: (the app reads this variable too).
INSTANCE = os.environ.get("NOTIFIER_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")

#: gunicorn: the address to listen on (``host:port``, or ``unix:PATH``).
bind = os.environ.get("NOTIFIER_BIND", "127.0.0.1:8000")
#: gunicorn: worker processes (gevent), each holding thousands of streams.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
#: gunicorn: connections per worker; each open event stream or socket holds one
#: (room for 10,000 streams).
worker_connections = int(os.environ.get("NOTIFIER_WORKER_CONNECTIONS", "12000"))
#: gunicorn: seconds workers get to finish on shutdown (streams are told to
#: reconnect elsewhere at once).
graceful_timeout = int(os.environ.get("NOTIFIER_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
# Each worker binds its own SO_REUSEPORT listener, so the kernel spreads new
# connections evenly over workers. With one shared listener, whichever worker
# wakes first takes a whole burst of connections (measured: 32 keep-alive
# clients all on one worker in some runs, halving throughput), which matters
# most for long-lived event streams and reconnect storms.
reuse_port = True
proc_name = "notifier"
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl),
# which two servers on one machine would fight over: keep it per instance.
control_socket = os.path.join(INSTANCE, "gunicorn.ctl")
#: gunicorn's access log: ``-`` for stderr, a path, or empty for none. Query strings
#: (widget tokens travel in them) and signed-link tokens are never logged; what the
#: client sent is escaped, so each request is one line.
accesslog = os.environ.get("NOTIFIER_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
logger_class = "notifier.core.access_log.AccessLogger"
#: How the server, ``notifier worker`` and ``notifier scheduler`` write their logs:
#: ``text``, or ``json`` for one JSON object a line, each line of a request carrying its
#: request id (``X-Request-ID``, taken from a trusted proxy or made up, and returned in
#: the response).
LOG_FORMAT = os.environ.get("NOTIFIER_LOG_FORMAT", "text")

#: Folder where each worker writes its Prometheus metrics, summed up by ``/metrics``
#: (emptied when the server starts). Point ``notifier worker`` and ``notifier scheduler``
#: on the same host at it through ``PROMETHEUS_MULTIPROC_DIR`` to count them too.
METRICS_DIR = os.environ.get("NOTIFIER_METRICS_DIR") or os.path.join(INSTANCE, "metrics")
# Before anything imports prometheus_client, which reads it once, at import: the
# workers inherit it.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR

_embedded = None


def on_starting(server):
    """Check the address is free, empty the metrics folder, start or adopt the
    embedded Redis for all workers, then refuse data in a format this code does not use
    (once, here, rather than in every worker)."""
    global _embedded
    for address in server.cfg.bind:
        try:
            check_free(address)
        except AddressTaken as exc:
            raise SystemExit(f"notifier: {exc}") from None
    prepare_multiprocess_dir(METRICS_DIR)
    if not os.environ.get("REDIS_URL"):
        _embedded = EmbeddedRedis(os.path.join(INSTANCE, "redis")).ensure()
        server.log.info("embedded redis-server at %s", _embedded.socket)
    refusal = _data_format_refusal(_embedded.url if _embedded else None)
    if refusal:
        on_exit(server)
        raise SystemExit(f"notifier: cannot start: {refusal}")


def _data_format_refusal(embedded_url):
    """Why the data in Redis cannot be served (a format this code does not use), or
    an empty string. The check runs in a child process: the master must not import
    a Redis client before the workers' gevent monkey-patching."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            from notifier import data_format_refusal

            os.write(write, data_format_refusal(embedded_url).encode())
        except Exception:  # noqa: BLE001 (the child must never return into the master's code)
            traceback.print_exc()
        os._exit(0)
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as answer:
        refusal = answer.read()
    os.waitpid(pid, 0)
    return refusal


def on_exit(server):
    """Shut the embedded Redis down after the workers are gone."""
    if _embedded is not None:
        _embedded.stop()


def child_exit(server, worker):
    """Stop counting a gone worker's open streams and other live gauges (a file another
    process removed meanwhile is gone already)."""
    with contextlib.suppress(FileNotFoundError):
        mark_process_dead(worker.pid)


def post_fork(server, worker):
    """Let a worker hold as many open streams as the system allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def post_worker_init(worker):
    """Say where the server answers (once, from the first worker); start the worker's
    runtime (hub, heartbeat, scheduler) and stop it, ending every open stream, as soon
    as the worker is told to stop.

    gunicorn waits up to graceful_timeout for open connections, and event streams
    never finish by themselves: instead each gets a ``retry:`` hint and is closed,
    and its browser reconnects to another worker.
    """
    import gevent

    # Each worker listens on its own socket (reuse_port), bound before this hook runs;
    # the first worker of this master is the moment the address first answers.
    if worker.age == 1:
        for address in worker.cfg.bind:
            worker.log.info("notifier is ready at %s", url_of(address))

    # The benchmark serves flask-sse under this file too: only notifier has a runtime.
    runtime = getattr(worker.wsgi, "extensions", {}).get("notifier.live")
    if runtime is None:
        return
    runtime.start(lambda: not worker.alive)

    def stop_when_told():
        while worker.alive:
            gevent.sleep(0.25)
        runtime.stop()

    gevent.spawn(stop_when_told)
