"""What identifies and guards one process of the service."""

from __future__ import annotations

import os
import secrets
import socket

from gevent import monkey


def new_worker_id() -> str:
    """``host:pid:random``: unique even when a pid is reused or two hosts share a name."""
    host = socket.gethostname().replace("|", "_")
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


def gevent_patched() -> bool:
    """Whether gevent's monkey-patching ran in this process."""
    return monkey.is_module_patched("socket")


def require_gevent(needs: str, fix: str) -> None:
    """Fail loudly when gevent's monkey-patching has not run: ``needs`` says what depends
    on it, ``fix`` how to start the process so that it runs first."""
    if not gevent_patched():
        raise RuntimeError(f"gevent monkey-patching has not run: {needs}. {fix}")
