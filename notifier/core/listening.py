"""What the gunicorn master checks and prints about the addresses it serves.

Imported by ``gunicorn.conf.py`` in the master, before the workers' monkey-patching:
it uses the standard library only.
"""

from __future__ import annotations

import socket


class AddressTaken(Exception):
    """Something already listens on the address."""


def _host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def check_free(address: str) -> None:
    """Raise :class:`AddressTaken` when something already listens on ``address``
    (``host:port``; ``unix:PATH`` is not checked).

    gunicorn's workers bind with SO_REUSEPORT, so a second server would share the
    port silently and take half the connections; this probe binds without it, which
    fails on a listening port. It sets SO_REUSEADDR as gunicorn does, so connections
    of an earlier run left in TIME_WAIT do not count as taking the address.
    """
    if address.startswith("unix:"):
        return
    host, port = _host_and_port(address)
    host = host or "0.0.0.0"  # noqa: S104 - mirrors gunicorn's own default
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AddressTaken(f"cannot listen on {address}: {exc.strerror}") from None


def url_of(address: str) -> str:
    """Where a browser reaches a gunicorn bind address: ``http://host:port``, with
    ``localhost`` for the any-address hosts; a unix socket is named as it is."""
    if address.startswith("unix:"):
        return address
    host, port = _host_and_port(address)
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognised, not bound
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
