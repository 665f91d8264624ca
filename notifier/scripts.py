"""Lua scripts kept as files in ``lua/`` and registered on a client."""

from __future__ import annotations

from importlib import resources

import redis
from redis.commands.core import Script


def load_script(client: redis.Redis, name: str) -> Script:
    """``lua/<name>.lua`` registered on ``client`` (EVALSHA, loaded again on NOSCRIPT)."""
    source = resources.files("notifier").joinpath("lua", f"{name}.lua").read_text()
    return client.register_script(source)
