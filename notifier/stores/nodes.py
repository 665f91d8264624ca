"""Commands about servers rather than keys, on one Redis or on every master of a cluster.

A cluster refuses TIME, INFO and SCAN in its pipelines, and each master has
its own clock, memory and keys: these helpers ask the right node(s).
"""

from __future__ import annotations

import redis

from notifier.stores.connection import is_cluster


def clock_ms(client: redis.Redis | redis.RedisCluster, key: str) -> int:
    """Redis's clock in epoch ms, read on the node that holds ``key`` (on one Redis, the
    server): scores written by that node's scripts compare with it."""
    if is_cluster(client):
        seconds, micros = client.time(target_nodes=client.get_node_from_key(key))
    else:
        seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


def masters(client: redis.Redis | redis.RedisCluster) -> list[redis.Redis]:
    """A client for each master: the server itself on one Redis."""
    if not is_cluster(client):
        return [client]
    return [client.get_redis_connection(node) for node in client.get_primaries()]


def info(client: redis.Redis | redis.RedisCluster, section: str) -> list[dict]:
    """``INFO <section>`` of each master."""
    return [node.info(section) for node in masters(client)]


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
