"""What text and links a request may carry: the rules, as checks and as JSON Schema patterns.

Every pattern here is written so that Python's ``re`` and ECMA-262 (JSON Schema) read
it alike, and the checks run these very patterns: the OpenAPI document states exactly
what the service enforces.

- One-line text (titles, labels, names): no control characters (C0, DEL, C1), no
  line or paragraph separators (U+2028, U+2029), no bidi embedding, override or
  isolate characters (U+202A-U+202E, U+2066-U+2069).
- Multi-line text (a notification's body): the same, except that it may hold line
  feeds (``\\n``) and tabs; a carriage return is refused (lines end with ``\\n``).
- Visible text: at least one character that is not white space nor invisible
  (zero-width spaces and joiners, word joiner, byte order mark, soft hyphen, ...).
- Links: absolute ``http``/``https`` URLs with a host name or IP address, an
  optional port, then a path, query and fragment of URL characters only (non-ASCII
  percent-encoded): no white space, no backslash, no user name or password (no
  ``@`` before the host).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

#: Characters no text field may hold: C0 controls but tab and line feed, DEL, C1,
#: U+2028/U+2029, and the bidi embeddings, overrides and isolates.
_ALWAYS_BANNED = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: Characters that show nothing: white space, and format characters that take no room.
_INVISIBLE = (r"\u0009-\u000d\u0020\u0085\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4"
              r"\u17b5\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u206a-\u206f\u2800"
              r"\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0")

#: One line of text; empty allowed.
LINE_PATTERN = rf"^[^{_ALWAYS_BANNED}\u0009\u000a]*$"
#: Several lines of text (line feeds and tabs allowed); empty allowed.
LINES_PATTERN = rf"^[^{_ALWAYS_BANNED}]*$"
#: One line holding at least one visible character.
VISIBLE_LINE_PATTERN = rf"^(?=[\s\S]*[^{_INVISIBLE}])[^{_ALWAYS_BANNED}\u0009\u000a]*$"
#: Empty, or one line holding at least one visible character.
OPTIONAL_VISIBLE_LINE_PATTERN = (
    rf"^(?:(?=[\s\S]*[^{_INVISIBLE}])[^{_ALWAYS_BANNED}\u0009\u000a]*)?$")
#: Empty, or lines holding at least one visible character.
VISIBLE_LINES_PATTERN = rf"^(?:(?=[\s\S]*[^{_INVISIBLE}])[^{_ALWAYS_BANNED}]*)?$"

_VISIBLE = re.compile(rf"[^{_INVISIBLE}]")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])"
_URL_CHAR = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})"
#: An absolute http(s) URL as links must be written.
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://{_HOST}(?::[0-9]{{1,5}})?(?:[/?#]{_URL_CHAR}*)?$"
_URL = re.compile(URL_PATTERN)
_URL_PARTS = re.compile(rf"^[A-Za-z]+://(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?(?=[/?#]|$)")


def _banned(value: str, allowed: str = "") -> str | None:
    """A description of the first banned character in ``value``, or None."""
    for char in value:
        code = ord(char)
        if char in allowed:
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F or char in "\u2028\u2029":
            return f"must not contain control characters (U+{code:04X})"
        if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            return f"must not contain bidi override characters (U+{code:04X})"
    return None


def line(value: str) -> str:
    """``value`` if it is one line of text; ValueError says what is wrong."""
    problem = _banned(value)
    if problem:
        raise ValueError(problem)
    return value


def lines(value: str) -> str:
    """``value`` if it is text of lines (``\\n``) and tabs; ValueError otherwise."""
    problem = _banned(value, allowed="\t\n")
    if problem:
        if "\r" in value:
            problem += "; end lines with \\n alone"
        raise ValueError(problem)
    return value


def visible(value: str) -> str:
    """``value`` if it shows something (empty is for the caller to allow)."""
    if value and not _VISIBLE.search(value):
        raise ValueError("must contain visible text")
    return value


def visible_line(value: str) -> str:
    """One line of text that shows something."""
    if not value:
        raise ValueError("must contain visible text")
    return visible(line(value))


def visible_lines(value: str) -> str:
    """Empty, or text of lines that shows something."""
    return visible(lines(value))


def http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL written strictly; ValueError otherwise."""
    if any(c.isspace() for c in value) or _banned(value):
        raise ValueError("must not contain spaces or control characters")
    if "\\" in value:
        raise ValueError("must not contain backslashes")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValueError("must be an absolute http:// or https:// URL")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise ValueError("must not contain a user name or password (@ before the host)")
    parts = _URL_PARTS.match(value)
    if parts is None:
        raise ValueError("must name a host: a domain name or an IP address")
    host = parts["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError("has a malformed IPv6 address") from None
    elif re.fullmatch(r"[0-9.]+", host.rstrip(".")):
        try:
            ipaddress.IPv4Address(host.rstrip("."))
        except ValueError:
            raise ValueError("has a malformed IPv4 address") from None
    if len(host) > 253:
        raise ValueError("has a host name longer than 253 characters")
    if parts["port"] is not None and not 1 <= int(parts["port"]) <= 65535:
        raise ValueError("port must be from 1 to 65535")
    if not _URL.match(value):
        raise ValueError("may hold only URL characters after the host: percent-encode "
                         "others (%20 for a space)")
    return value


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None.

    Refuses ``//evil.example``, ``/\\evil.example``, ``https:evil.example`` and
    anything with control characters, which browsers may read as another host.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
