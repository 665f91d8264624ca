"""Capped exponential backoff with jitter."""

from notifier.core.backoff import Backoff


def test_waits_double_up_to_the_cap_and_start_over_after_a_reset():
    backoff = Backoff(0.25, 1.5, jitter=(1.0, 1.0))
    assert [backoff.next() for _ in range(5)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    backoff.reset()
    assert backoff.next() == 0.25


def test_jitter_stays_within_its_bounds():
    backoff = Backoff(1.0, 8.0, jitter=(0.5, 1.5))
    for _ in range(200):
        wait = backoff.next()
        assert 0.5 * backoff.delay <= wait <= 1.5 * backoff.delay
