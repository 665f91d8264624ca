"""Key names: one user's keys and channel share a Redis Cluster slot."""

import pytest
from redis.crc import key_slot

from notifier.core.ids import is_notification_id, is_user_id, parse_notification_id
from notifier.core.keys import PARTITIONS, Keys


def test_user_keys_share_one_slot():
    keys = Keys("notifier")
    for user_id in ("u42", "alice@example.com", "org:7"):
        names = [keys.inbox(user_id), keys.unread(user_id), keys.user_channel(user_id),
                 keys.account(user_id), keys.sessions(user_id)]
        assert len({key_slot(name.encode()) for name in names}) == 1
        assert all(f"{{u:{user_id}}}" in name for name in names)


def test_different_users_spread_over_slots():
    keys = Keys("notifier")
    slots = {key_slot(keys.inbox(f"user{i}").encode()) for i in range(200)}
    assert len(slots) > 150


def test_prefix_applies_everywhere():
    keys = Keys("p")
    names = [keys.inbox("u"), keys.accounts(), keys.account_names(), keys.api_key("k"),
             keys.api_keys(), keys.api_key_request("r"),
             keys.idempotency("k", "x"), keys.rate_limit_prefix()]
    assert all(name.startswith("p:") for name in names)


def test_idempotency_key_names_are_bounded():
    name = Keys().idempotency("key1", "x" * 255)
    assert len(name) < 80 and Keys().idempotency("key1", "a") != Keys().idempotency("key2", "a")


def test_id_validation():
    assert is_user_id("a") and not is_user_id("a{b}") and not is_user_id(None)
    assert parse_notification_id("1700000000000-3") == (1700000000000, 3)
    assert not is_notification_id("1-") and not is_notification_id("+")
    assert not is_notification_id("99999999999999999999-0")  # beyond 64 bits


def test_scheduler_keys_share_one_slot():
    keys = Keys("notifier")
    names = [keys.sched_due(), keys.sched_running(), keys.sched_failed(), keys.sched_index(),
             keys.sched_meta(), keys.sched_body(), keys.sched_attempts(), keys.sched_errors(),
             keys.sched_idempotency("0123456789abcdef", "any key {x}")]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert all(name.startswith("notifier:{sched}:") for name in names)


def test_schedule_ids():
    from notifier.core.ids import is_schedule_id

    assert is_schedule_id("sch_" + "0a" * 12)
    for bad in ("sch_" + "0" * 23, "sch_" + "0" * 25, "sch_" + "A" * 24, None, 5, "x"):
        assert not is_schedule_id(bad)
def test_a_presence_partition_shares_one_slot_whatever_the_user():
    keys = Keys("notifier")
    for user in (f"user{i}" for i in range(50)):
        part = keys.presence_partition(user)
        names = [keys.presence_until(part), keys.presence_online(part),
                 keys.presence_since(part), keys.presence_last_seen(part),
                 keys.presence_channel(part), keys.presence_entries(user)]
        assert len({key_slot(name.encode()) for name in names}) == 1
        assert all(name.startswith("notifier:") for name in names)


def test_a_delivery_partition_shares_one_slot():
    keys = Keys("notifier")
    for part in range(PARTITIONS):
        names = [keys.delivery_jobs(part), keys.delivery_delayed(part),
                 keys.delivery_held(part), keys.delivery_held_jobs(part),
                 keys.delivery_dead(part)]
        assert len({key_slot(name.encode()) for name in names}) == 1
    assert keys.delivery_partition("alice") == keys.delivery_partition("alice")
    assert len({keys.delivery_partition(f"user{i}") for i in range(200)}) == PARTITIONS


@pytest.mark.parametrize("name", ["presence", "workers", "delivery-workers", "schedulers",
                                  "delivery"])
def test_partitions_spread_evenly_over_the_slot_space(name):
    keys = Keys("notifier")
    names = {"presence": keys.presence_channels(), "workers": keys.worker_reports(),
             "delivery-workers": keys.delivery_worker_reports(),
             "schedulers": keys.scheduler_reports(),
             "delivery": [keys.delivery_jobs(part) for part in range(PARTITIONS)]}[name]
    slots = [key_slot(n.encode()) for n in names]
    assert len(names) == PARTITIONS
    # One slot in each sixteenth of the slot space: any 3 masters of contiguous ranges
    # (the usual assignment) get 5 or 6 each.
    assert [slot * PARTITIONS // 16384 for slot in slots] == list(range(PARTITIONS))
    assert all(n.startswith("notifier:") for n in names)


def test_the_registration_scripts_keys_share_one_slot():
    keys = Keys("notifier")
    for user_id in ("user-1001", "alice@example.com"):
        names = [keys.account(user_id), *keys.traces(user_id)]
        assert len(names) == 7 and len({key_slot(name.encode()) for name in names}) == 1
    assert keys.sign_in_link("ab").startswith("notifier:sign-in-link:")
    assert keys.set_password_link("ab").startswith("notifier:set-password-link:")


@pytest.mark.parametrize("user_id", ["alice", "a.b:c@d-e", "x" * 64, "events", "u:1"])
def test_a_user_channel_names_its_user_back(user_id):
    for keys in (Keys(), Keys("tenant-a:notifier")):
        assert keys.user_of_channel(keys.user_channel(user_id)) == user_id
