"""gunicorn's access log, made safe: one line per request, no signed tokens in it.

gunicorn writes what the client sent (path, method, protocol, headers) as it came:
a decoded ``%0d%0a`` in a path would start a new, forged line, and the signed links
(``/r/<token>``, ``/unsubscribe/<token>``, ``/sign-in/<token>``, ``/invite/<token>``)
would put their tokens in the log. :class:`AccessLogger` (``logger_class`` in
gunicorn.conf.py) passes every text atom through :func:`log_safe`. It serves any
WSGI app: the benchmarks' flask-sse app runs under it too.
"""

from __future__ import annotations

import contextlib
import logging
import re

from gunicorn.glogging import Logger, SafeAtoms

from notifier.core.log_format import (
    JsonFormatter,
    RequestIdFilter,
    json_handler,
    log_format_from_env,
)

#: First path segments whose next segment is a signed token.
TOKEN_ROUTES = ("r", "unsubscribe", "sign-in", "invite")

#: What the log shows in place of a token.
MASK = "[token]"

# The token segment of a path, or of a whole URL (a Referer).
_ROUTES = "|".join(re.escape(route) for route in TOKEN_ROUTES)
_TOKEN_SEGMENT = re.compile(
    rf"^((?:[a-z][a-z0-9+.-]*://[^/?#]*)?/+(?:{_ROUTES})/+)[^/?#]+", re.IGNORECASE)

# C0 controls, DEL, C1 controls (U+0085 ends a line for some readers), the Unicode
# line and paragraph separators, the backslash and the double quote.
_UNSAFE = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029\\\\"]')
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}

#: Atoms holding the decoded path; atoms holding a raw URL (query string and all);
#: atoms that are a query string.
_PATHS = frozenset({"U", "{path_info}e"})
_URLS = frozenset({"f", "{referer}i", "{raw_uri}e", "{request_uri}e", "{http_referer}e"})
_QUERIES = frozenset({"q", "{query_string}e"})


def _escape(match: re.Match) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def log_safe(text: str, *, path: bool = False, url: bool = False) -> str:
    """``text`` as it may go into one access-log line.

    WSGI text is bytes decoded as latin-1; it is shown as UTF-8 when it is UTF-8.
    Control characters (C0, DEL, C1), U+2028, U+2029, backslashes and double quotes
    are escaped (``\\r``, ``\\x00``, ``\\u2028``, ``\\\\``, ``\\"``). With ``path``
    the token segment of a signed-link route becomes ``[token]``; with ``url`` the
    query string and fragment are cut off as well.
    """
    with contextlib.suppress(UnicodeError):
        text = text.encode("latin-1").decode("utf-8")
    if url:
        text = re.split(r"[?#]", text, maxsplit=1)[0]
    if path or url:
        text = _TOKEN_SEGMENT.sub(lambda match: match.group(1) + MASK, text, count=1)
    return _UNSAFE.sub(_escape, text)


class _EscapedAtoms(SafeAtoms):
    """gunicorn's atom lookup (``-`` when missing, header names in any case) without
    its own quote escaping: :class:`AccessLogger` escapes already."""

    def __init__(self, atoms):
        dict.__init__(self, atoms)


class AccessLogger(Logger):
    """gunicorn's logger with every text atom made safe by :func:`log_safe`.

    Query strings never reach the log (widget tokens travel there): ``%(q)s`` is
    ``-``, and ``%(r)s`` is the method, the masked path and the protocol. With
    ``NOTIFIER_LOG_FORMAT=json`` every line, gunicorn's, the app's and each request's
    access line (with its fields and request id), is one JSON object.
    """

    atoms_wrapper_class = _EscapedAtoms

    def setup(self, cfg):
        """gunicorn's set-up; then, for JSON lines, their formatter on its handlers and a
        JSON handler on the root logger, which the app's loggers reach."""
        super().setup(cfg)
        self.json_lines = log_format_from_env() == "json"
        if not self.json_lines:
            return
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(RequestIdFilter())
        root = logging.getLogger()
        root.handlers[:] = [json_handler()]
        root.setLevel(logging.INFO)

    def access(self, resp, req, environ, request_time):
        """One access line: gunicorn's format, or a JSON object of the request's fields."""
        if not getattr(self, "json_lines", False):
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        status = atoms["s"]
        fields = {"remote": atoms["h"], "method": atoms["m"], "path": atoms["U"],
                  "protocol": atoms["H"],
                  "status": int(status) if str(status).isdigit() else status,
                  "bytes": atoms["B"], "duration_ms": atoms["M"]}
        request_id = atoms.get("{x-request-id}o")
        self.access_log.info("%s %s %s", atoms["m"], atoms["U"], status,
                             extra={"fields": fields, "request_id": request_id})

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms, escaped, with tokens masked and query strings left out."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in _QUERIES:
                atoms[key] = "-"
            elif isinstance(value, str):
                atoms[key] = log_safe(value, path=key in _PATHS, url=key in _URLS)
        atoms["r"] = " ".join((atoms["m"] or "-", atoms["U"] or "-", atoms["H"] or "-"))
        return atoms
