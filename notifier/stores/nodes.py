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

