"""What identifies and guards one process of the service."""

from __future__ import annotations

import os
import secrets
import socket


def new_worker_id() -> str:
    """``host:pid:random``: unique even when a pid is reused or two hosts share a name."""
    host = socket.gethostname().replace("|", "_")
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"
