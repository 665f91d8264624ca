"""One JSON object per log line, with the request id, when ``NOTIFIER_LOG_FORMAT`` is
``json``; gunicorn's lines (``notifier.core.access_log.AccessLogger``), the app's and
the delivery worker's and scheduler's all go through it. Standard library only: the
gunicorn master loads it."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime

#: The id of the request this greenlet is handling (None outside a request); set by
#: :mod:`notifier.core.request_ids`.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                         default=None)

#: The formats ``NOTIFIER_LOG_FORMAT`` may name.
FORMATS = ("text", "json")


def log_format_from_env() -> str:
    """``NOTIFIER_LOG_FORMAT`` (default ``text``); exits naming the variable when it is
    neither ``text`` nor ``json``."""
    value = os.environ.get("NOTIFIER_LOG_FORMAT", "").strip().lower() or "text"
    if value not in FORMATS:
        raise SystemExit(f"NOTIFIER_LOG_FORMAT must be text or json, not {value!r}")
    return value


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being handled (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``request_id`` when there is one, ``exception`` when there is one, and
    the fields of an access line (``extra={"fields": {...}}``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # ensure_ascii: U+2028 and other line breaks stay escaped, one object a line.
        return json.dumps(entry, ensure_ascii=True, default=str)


def json_handler(stream=None) -> logging.Handler:
    """A handler writing JSON lines with request ids to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_process_logging(log_format: str) -> None:
    """The root logger of a ``notifier`` process at INFO: JSON lines, or text lines
    with the time, logger and level."""
    if log_format == "json":
        root = logging.getLogger()
        root.handlers[:] = [json_handler()]
        root.setLevel(logging.INFO)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s "
                            "%(levelname)s %(message)s")
