"""wsgi:app with timestamps of the broadcast path, for finding where time goes (bench only)."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import time  # noqa: E402

from notifier.live import hub  # noqa: E402
from notifier.live import stream as live_stream  # noqa: E402
from wsgi import app  # noqa: E402, F401

_fan_out = hub.Hub._fan_out
_live = live_stream.LiveStream._live_broadcast
MARKS = {"calls": 0}
#: Where each worker writes its marks (the last broadcast's), one file per pid.
TRACE_DIR = os.environ.get("TRACE_DIR", ".")


def fan_out(self, data):
    MARKS["hub_in"] = time.monotonic_ns()
    _fan_out(self, data)
    MARKS["hub_out"] = time.monotonic_ns()


def live(self, delivery):
    now = time.monotonic_ns()
    MARKS.setdefault("first_stream", now)
    MARKS["last_stream"] = now
    MARKS["calls"] += 1
    if MARKS["calls"] % 1000 == 0 or MARKS["calls"] >= 4990:
        with open(os.path.join(TRACE_DIR, f"trace-{os.getpid()}.txt"), "w") as out:
            out.write(repr(MARKS))
    return _live(self, delivery)


import gc  # noqa: E402

_gc_started = {}


def on_gc(phase, info):
    if phase == "start":
        _gc_started["t"] = time.monotonic_ns()
    else:
        took = (time.monotonic_ns() - _gc_started.get("t", 0)) / 1e6
        if took > 5:
            MARKS.setdefault("gc", []).append((info["generation"], round(took, 1),
                                               time.monotonic_ns()))


gc.callbacks.append(on_gc)
hub.Hub._fan_out = fan_out
live_stream.LiveStream._live_broadcast = live

if os.environ.get("TRACE_FREEZE"):
    import gevent

    def freezer():
        while True:
            gevent.sleep(2)
            gc.freeze()

    gevent.spawn(freezer)
