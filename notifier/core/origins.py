"""Web origins (``scheme://host[:port]``): parsed into the exact form browsers send.

A browser's ``Origin`` header is always lowercase, punycode for international
names, and leaves out the scheme's default port. Origins given to the service (an
API key's allow-list, a widget token's ``origins``) are brought to that form when
they are stored, so checking a request is a plain string comparison.
"""

from __future__ import annotations

import ipaddress
import re

#: Origins one API key may allow, and one widget token may carry.
MAX_KEY_ORIGINS = 50
MAX_TOKEN_ORIGINS = 10

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHAPE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
                    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]@]+)"
                    r"(?::(?P<port>[0-9]{1,5}))?(?P<rest>.*)$", re.DOTALL)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def parse_origin(value: object) -> str:
    """``value`` as a browser would send it in ``Origin``; ValueError says what is wrong."""
    if not isinstance(value, str):
        raise ValueError("must be a string like https://app.example.com")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain spaces or control characters")
    if "@" in value:
        raise ValueError("must not contain a user name (@)")
    match = _SHAPE.match(value)
    if match is None:
        raise ValueError("must look like https://app.example.com (scheme://host[:port])")
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("must use http or https")
    if match["rest"]:
        raise ValueError("must be an origin only: no path (not even /), query or fragment")
    host = _host(match["host"])
    port = None
    if match["port"] is not None:
        port = int(match["port"])
        if not 1 <= port <= 65535:
            raise ValueError("port must be from 1 to 65535")
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _host(host: str) -> str:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError("has a malformed IPv6 address") from None
        return f"[{address.compressed}]"
    if not host.isascii():
        raise ValueError("write an international domain name in its xn-- (punycode) form")
    host = host.lower()
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise ValueError("has a malformed host name")
    return host


def parse_origins(values: list[str] | tuple[str, ...], *, limit: int) -> list[str]:
    """Each of ``values`` parsed, repeats dropped, order kept; ValueError names the bad one."""
    found: dict[str, None] = {}
    for value in values:
        try:
            found[parse_origin(value)] = None
        except ValueError as exc:
            raise ValueError(f"{value!r} {exc}") from None
    if len(found) > limit:
        raise ValueError(f"at most {limit} origins")
    return list(found)
