"""The Redis client for a ``REDIS_URL``: one Redis, or a Redis Cluster.

``redis://``, ``rediss://`` and ``unix://`` name one server. ``redis+cluster://``
and ``rediss+cluster://`` name a cluster by one or more of its nodes
(``redis+cluster://10.0.0.1:6379,10.0.0.2:6379``); the client learns the rest of
the topology from them. Credentials and query options (``?ssl_cert_reqs=none``)
are those of redis-py's URLs.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.cluster import ClusterNode

from notifier.stores.lua_scripts import Client

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster."""
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_cluster(client: redis.Redis | redis.RedisCluster) -> bool:
    """Whether ``client`` speaks to a Redis Cluster."""
    return isinstance(client, redis.RedisCluster)


def publish_command(client: redis.Redis | redis.RedisCluster) -> str:
    """How scripts publish on a channel that lives in their keys' slot: SPUBLISH on a
    cluster (the message stays on the shard that owns the slot; PUBLISH would be relayed
    to every node), PUBLISH on one Redis (the embedded Redis 6.2 has no SPUBLISH).
    Scripts take it as an argument."""
    return "SPUBLISH" if is_cluster(client) else "PUBLISH"


def cluster_nodes(url: str) -> tuple[list[ClusterNode], dict]:
    """The startup nodes and connection options of a ``redis+cluster://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a cluster URL: {url!r}")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    options: dict = {}
    if userinfo:
        user, _, password = userinfo.partition(":")
        if password:
            options["username"] = unquote(user) or None
            options["password"] = unquote(password)
        else:
            options["password"] = unquote(user)
    nodes = []
    for host_port in hosts.split(","):
        host, _, port = host_port.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster node must be host:port, got {host_port!r}")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    if CLUSTER_SCHEMES[parts.scheme]:
        options["ssl"] = True
    for name, value in parse_qsl(parts.query):
        options[name] = value
    return nodes, options


def connect(url: str, *, pool_size: int, client_name: str,
            socket_timeout: float = 5, health_check_interval: int = 30,
            ) -> Client | redis.RedisCluster:
    """A client for ``url`` whose connections wait for a free one beyond ``pool_size``
    (per node on a cluster) instead of opening one each under a burst."""
    common = dict(socket_timeout=socket_timeout, socket_connect_timeout=2,
                  health_check_interval=health_check_interval, client_name=client_name)
    if is_cluster_url(url):
        nodes, options = cluster_nodes(url)
        # Given a URL, redis-py builds each node's pool with connection_pool_class
        # (without one, a plain pool that fails past max_connections under a burst).
        first, *others = nodes
        scheme = "rediss" if options.pop("ssl", False) else "redis"
        return redis.RedisCluster(
            url=f"{scheme}://{first.host}:{first.port}", startup_nodes=others,
            max_connections=pool_size, connection_pool_class=redis.BlockingConnectionPool,
            **common, **options)
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=pool_size, timeout=5,
                                                 **common)
    return Client(connection_pool=pool)
