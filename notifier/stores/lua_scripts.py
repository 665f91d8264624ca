"""Lua scripts kept as files in ``lua/`` and registered on a client."""

from __future__ import annotations

from importlib import resources

import redis
import redis.client
from redis.commands.core import Script
from redis.exceptions import NoScriptError

#: Bumped when Redis answers NOSCRIPT: every connection's checked scripts are forgotten.
_generation = 0

def script_source(name: str, *, libraries: tuple[str, ...] = ()) -> str:
    """The text of ``lua/<name>.lua``, after the ``lua/lib_<library>.lua`` it uses.

    Redis scripts cannot include one another, so shared functions (such as
    ``iso_utc``) live in library files prepended to each script that calls them.
    """
    folder = resources.files("notifier.stores").joinpath("lua")
    parts = [folder.joinpath(f"lib_{library}.lua").read_text() for library in libraries]
    return "".join([*parts, folder.joinpath(f"{name}.lua").read_text()])


def load_script(client: redis.Redis, name: str, *, libraries: tuple[str, ...] = ()) -> Script:
    """``lua/<name>.lua`` registered on ``client`` (EVALSHA, loaded again on NOSCRIPT)."""
    return client.register_script(script_source(name, libraries=libraries))


def forget_loaded_scripts() -> None:
    """Make every connection check its scripts again (Redis answered NOSCRIPT)."""
    global _generation
    _generation += 1


class ScriptPipeline(redis.client.Pipeline):
    """redis-py's pipeline without a ``SCRIPT EXISTS`` round trip on every execute.

    redis-py checks a pipeline's scripts before each execute (0.3-0.6 ms a send,
    measured). Here each connection remembers which scripts it has checked since it
    connected: Redis loses its scripts only when it restarts, which means a new
    connection (the pool reconnects a socket the server closed before handing it
    out), and that connection checks again. A ``SCRIPT FLUSH`` on a live server
    fails one batch per connection as a ``ConnectionError`` (503, streams retry);
    the connections then check again.
    """

    def load_scripts(self) -> None:
        conn = self.connection
        if conn is None:
            conn = self.connection = self.connection_pool.get_connection()
        conn.connect()  # no-op when connected; the socket identifies this connection
        checked = getattr(conn, "notifier_scripts", None)
        if checked is None or checked[0] is not conn._sock or checked[1] != _generation:
            checked = conn.notifier_scripts = (conn._sock, _generation, set())
        if all(script.sha in checked[2] for script in self.scripts):
            return
        super().load_scripts()
        checked[2].update(script.sha for script in self.scripts)

    def execute(self, raise_on_error: bool = True) -> list:
        """Run the batch; after a NOSCRIPT answer, every connection checks again."""
        try:
            return super().execute(raise_on_error)
        except NoScriptError as exc:
            forget_loaded_scripts()
            # Redis lost its scripts under us: like a dropped connection, a moment's
            # outage (503, streams retry), not a bug.
            raise redis.ConnectionError("Redis lost its Lua scripts (SCRIPT FLUSH); "
                                        "they are loaded again on the next call") from exc


class Client(redis.Redis):
    """``redis.Redis`` whose pipelines are :class:`ScriptPipeline`."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> ScriptPipeline:
        """A new pipeline (see :class:`ScriptPipeline`)."""
        return ScriptPipeline(self.connection_pool, self.response_callbacks, transaction,
                              shard_hint)
