"""Races in the hub and the stream, forced at chosen points (see hub_scenarios.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("hub_scenarios.py")


@pytest.fixture
def scenario(redis_server, redis_client):
    def run(name: str) -> dict:
        result = subprocess.run([sys.executable, str(SCRIPT), redis_server.url, name],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run


def test_fresh_stream_misses_nothing_sent_while_it_subscribes(scenario):
    outcome = scenario("fresh_window")
    assert outcome["got"] == outcome["sent"]


def test_a_failed_write_reconnects_the_hub_and_replays_the_gap(scenario):
    outcome = scenario("write_failure_resync")
    assert outcome["reconnects"] >= 1
    assert outcome["got"] == outcome["sent"]


def test_subscribe_and_unsubscribe_reach_redis_in_order(scenario):
    outcome = scenario("ordered_commands")
    assert outcome["numsub"] == 1
    assert outcome["got"] == outcome["sent"]


def test_history_trimmed_during_an_outage_resets_the_stream(scenario):
    outcome = scenario("trimmed_during_outage")
    assert outcome["reconnects"] >= 1
    assert "reset" in outcome["events"]


def test_direct_writes_that_fill_the_socket_keep_every_event_in_order(scenario):
    outcome = scenario("direct_backpressure")
    assert outcome["got"] == outcome["sent"]
    assert outcome["left_to_the_greenlet"] >= 1  # the socket did fill up
    assert outcome["direct_writes"] >= 1


def test_closed_streams_are_freed_at_once_and_forgotten_by_the_hub(scenario):
    """Nothing of a closed stream waits for the cyclic collector (workers freeze what
    lives a few seconds, so a cycle would stay until a rare full collection)."""
    outcome = scenario("closed_streams_leave_no_garbage")
    assert outcome["received"] == outcome["ended"] == 20
    assert outcome["lingering"] == []
    assert outcome["garbage"] == []
    assert outcome["hub"] == {"_subscribers": 0, "_pending": 0, "_confirmed": 0,
                              "_inflight": 0}


def test_the_hub_refuses_to_run_without_gevent_patching(redis_server):
    from notifier.core.keys import Keys
    from notifier.live.hub import Hub

    with pytest.raises(RuntimeError, match="monkey-patching has not run"):
        Hub(redis_server.url, Keys("t"))  # this test process is not patched
