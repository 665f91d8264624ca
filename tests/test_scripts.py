"""Pipelines check their scripts once per connection, not once per execute."""

import pytest
import redis

from notifier.stores.lua_scripts import Client

from conftest import RedisServer


@pytest.fixture
def private_redis(tmp_path):
    """A server of these tests' own: they flush its scripts, which would fail the
    session's live servers on the shared one."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()


def script_checks(client) -> int:
    stats = client.info("commandstats")
    return stats.get("cmdstat_script|exists", stats.get("cmdstat_script", {})).get("calls", 0)


def test_a_connection_checks_its_scripts_once_and_again_after_a_flush(private_redis):
    client = Client.from_url(private_redis.url, max_connections=1)
    double = client.register_script("return tonumber(ARGV[1]) * 2")
    client.config_resetstat()

    def run(n):
        pipe = client.pipeline(transaction=False)
        double(args=[n], client=pipe)
        return pipe.execute()[0]

    assert [run(n) for n in range(20)] == [2 * n for n in range(20)]
    assert script_checks(client) == 1  # redis-py alone: 20
    client.script_flush()
    with pytest.raises(redis.ConnectionError):  # the flush fails one batch, as an outage...
        run(1)
    assert run(21) == 42  # ...after which the scripts are checked and loaded again
    assert script_checks(client) == 2
    client.close()


def test_a_restarted_server_is_checked_again_on_the_new_connection(private_redis):
    client = Client.from_url(private_redis.url, max_connections=1)
    double = client.register_script("return tonumber(ARGV[1]) * 3")
    pipe = client.pipeline(transaction=False)
    double(args=[1], client=pipe)
    assert pipe.execute() == [3]
    client.script_flush()
    # A server that restarted closes its connections: the pool reconnects one
    # before handing it out, and a new connection checks its scripts.
    client.connection_pool.disconnect()
    pipe = client.pipeline(transaction=False)
    double(args=[2], client=pipe)
    assert pipe.execute() == [6]
    client.close()
