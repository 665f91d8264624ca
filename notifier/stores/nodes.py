"""Commands about servers rather than keys, on one Redis or on every master of a cluster.

Each master of a cluster has its own memory, clients and keys (and a cluster
refuses INFO in its pipelines): these helpers ask every one.
"""

from __future__ import annotations

import redis

from notifier.stores.connection import is_cluster


def masters(client: redis.Redis | redis.RedisCluster) -> list[redis.Redis]:
    """A client for each master: the server itself on one Redis."""
    if not is_cluster(client):
        return [client]
    return [client.get_redis_connection(node) for node in client.get_primaries()]


def ping_masters(client: redis.Redis | redis.RedisCluster) -> None:
    """PING every master (the server itself on one Redis); raises the first failure.

    On a cluster a failed PING refreshes the topology and asks again once, so after a
    failover the promoted replica is asked, not its dead master."""
    if not is_cluster(client):
        client.ping()
        return
    try:
        for master in masters(client):
            master.ping()
    except (redis.ConnectionError, redis.TimeoutError):
        client.nodes_manager.initialize()
        for master in masters(client):
            master.ping()


def by_slot(client: redis.Redis | redis.RedisCluster, keys: list[str]) -> list[list[int]]:
    """The indexes of ``keys`` grouped by hash slot, in first-seen order: one script may
    touch each group's keys. On one Redis, one group of them all."""
    if not keys:
        return []
    if not is_cluster(client):
        return [list(range(len(keys)))]
    groups: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(client.keyslot(key), []).append(index)
    return list(groups.values())
