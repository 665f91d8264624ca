"""Script calls sent together: one pipeline on one Redis, one per node on a cluster.

redis-py's cluster pipeline refuses scripts, and a script's keys must share a slot.
A :class:`ScriptBatch` groups its calls by the node that owns each call's first
key and sends each node's calls as one pipeline (:class:`ScriptPipeline`, so a
new or promoted node loads the scripts it lacks). A call answered ``MOVED``
(the slot changed owner), ``ASK`` (the slot is migrating) or ``TRYAGAIN`` (its keys
are split by a migration) was not run: it is sent again where the cluster says,
after the topology is refreshed, for up to :data:`FOLLOW_FOR` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    MovedError,
    NoScriptError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)

from notifier.stores.connection import is_cluster
from notifier.stores.lua_scripts import ScriptPipeline, forget_loaded_scripts

#: Seconds a batch follows MOVED, ASK and TRYAGAIN answers (a slot migrating key by
#: key) before it gives up.
FOLLOW_FOR = 3.0


def unavailable(answer: object) -> bool:
    """Whether ``answer`` says the shard cannot take the call now (a failover, a
    master without its replicas): a moment's outage, like a lost connection."""
    return isinstance(answer, (ClusterDownError, MasterDownError, ReadOnlyError)) or (
        isinstance(answer, ResponseError) and str(answer).startswith("NOREPLICAS"))


@dataclass(frozen=True, slots=True)
class Call:
    """One script call (``script`` set) or one plain command (``args`` only)."""

    keys: Sequence[str]
    args: Sequence[Any]
    script: Script | None = None

    def queue(self, pipe: redis.client.Pipeline) -> None:
        if self.script is not None:
            self.script(keys=self.keys, args=self.args, client=pipe)
        else:
            pipe.execute_command(*self.args)


class ScriptBatch:
    """Calls answered together; each is atomic on its own, the batch is not."""

    def __init__(self, client: redis.Redis | redis.RedisCluster):
        self.client = client
        self.calls: list[Call] = []

    def script(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue a script call; every key of ``keys`` must share one slot."""
        self.calls.append(Call(keys, args, script))

    def command(self, key: str, *args: Any) -> None:
        """Queue a plain command routed by ``key`` (its one key)."""
        self.calls.append(Call((key,), args))

    def execute(self, raise_on_error: bool = True) -> list:
        """Every call's reply in queued order. A failed call raises its error, or with
        ``raise_on_error=False`` its reply is the exception (the others still ran)."""
        if not self.calls:
            return []
        if not is_cluster(self.client):
            replies = self._execute_on_one()
        else:
            replies = self._execute_on_cluster()
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return replies

    def _execute_on_one(self) -> list:
        replies: list[Any] = [None] * len(self.calls)
        pending = list(range(len(self.calls)))
        for attempt in range(2):  # a NOSCRIPT call did not run: once more, scripts loaded
            pipe = self.client.pipeline(transaction=False)
            for index in pending:
                self.calls[index].queue(pipe)
            answers = pipe.execute(raise_on_error=False)
            lost = []
            for index, answer in zip(pending, answers, strict=True):
                replies[index] = answer
                if isinstance(answer, NoScriptError) and attempt == 0:
                    lost.append(index)
            if not lost:
                break
            forget_loaded_scripts()
            pending = lost
        return replies

    def _execute_on_cluster(self) -> list:
        cluster: redis.RedisCluster = self.client
        replies: list[Any] = [None] * len(self.calls)
        # (index, node to ask or None for the slot's owner)
        pending: list[tuple[int, redis.cluster.ClusterNode | None]] = [
            (i, None) for i in range(len(self.calls))]
        deadline = time.monotonic() + FOLLOW_FOR
        while True:
            by_node: dict[str, tuple[redis.cluster.ClusterNode, bool, list[int]]] = {}
            for index, asked in pending:
                node = asked or cluster.get_node_from_key(self.calls[index].keys[0])
                by_node.setdefault(f"{node.name}:{asked is not None}",
                                   (node, asked is not None, []))[2].append(index)
            redirected: list[tuple[int, redis.cluster.ClusterNode | None]] = []
            moved = again = False
            for node, asking, indices in by_node.values():
                node_client = cluster.get_redis_connection(node)
                pipe = ScriptPipeline(node_client.connection_pool,
                                      node_client.response_callbacks, False, None)
                for index in indices:
                    if asking:
                        pipe.execute_command("ASKING")
                    self.calls[index].queue(pipe)
                try:
                    answers = pipe.execute(raise_on_error=False)
                except (redis.ConnectionError, redis.TimeoutError):
                    # The node is gone (a failover): the next call finds the new owner.
                    cluster.nodes_manager.initialize()
                    raise
                if asking:
                    answers = answers[1::2]
                for index, answer in zip(indices, answers, strict=True):
                    if isinstance(answer, AskError):
                        redirected.append((index, cluster.nodes_manager.get_node(
                            host=answer.host, port=answer.port)
                            or _node(cluster, answer.host, answer.port)))
                    elif isinstance(answer, MovedError):
                        moved = True
                        redirected.append((index, None))
                    elif isinstance(answer, TryAgainError):  # keys split by a migration
                        redirected.append((index, None))
                        again = True
                    elif isinstance(answer, NoScriptError):  # did not run: load, run again
                        forget_loaded_scripts()
                        redirected.append((index, node if asking else None))
                    elif unavailable(answer):
                        replies[index] = redis.ConnectionError(f"{node.name}: {answer}")
                    else:
                        replies[index] = answer
            if not redirected:
                return replies
            if time.monotonic() > deadline:
                # A moment's outage to the sender (503): a retry with its key completes it.
                raise redis.ConnectionError("slots kept moving under a batch")
            if moved:
                cluster.nodes_manager.initialize()
            if again:
                time.sleep(0.05)  # gevent's sleep in the workers
            pending = redirected


def _node(cluster: redis.RedisCluster, host: str, port: int) -> redis.cluster.ClusterNode:
    """The node at ``host:port``, learning it first when the topology does not know it."""
    cluster.nodes_manager.initialize()
    node = cluster.nodes_manager.get_node(host=host, port=port)
    if node is None:
        raise redis.ClusterError(f"ASK redirection to an unknown node {host}:{port}")
    return node
