"""Lua scripts kept as files in ``lua/`` and registered on a client."""

from __future__ import annotations

from importlib import resources

import redis
from redis.commands.core import Script


def script_source(name: str, *, libraries: tuple[str, ...] = ()) -> str:
    """The text of ``lua/<name>.lua``, after the ``lua/lib_<library>.lua`` it uses.

    Redis scripts cannot include one another, so shared functions (such as
    ``iso_utc``) live in library files prepended to each script that calls them.
    """
    folder = resources.files("notifier").joinpath("lua")
    parts = [folder.joinpath(f"lib_{library}.lua").read_text() for library in libraries]
    return "".join([*parts, folder.joinpath(f"{name}.lua").read_text()])


def load_script(client: redis.Redis, name: str, *, libraries: tuple[str, ...] = ()) -> Script:
    """``lua/<name>.lua`` registered on ``client`` (EVALSHA, loaded again on NOSCRIPT)."""
    return client.register_script(script_source(name, libraries=libraries))
