"""Routing decisions and quiet-hour windows, tested directly (no Redis, no app)."""

import random
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest

from notifier.model.channels import DELIVERY_CHANNELS
from notifier.model.delivery_rules import decide, quiet_window_end, wall_instant
from notifier.model.preferences import Preferences


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def prefs(start: str | None = None, end: str | None = None, zone: str = "UTC",
          **switches) -> Preferences:
    def hhmm(value):
        return None if value is None else clock_time.fromisoformat(value)

    return Preferences(timezone=zone, quiet_start=hhmm(start), quiet_end=hhmm(end),
                       switches={tuple(k.split("__")): v for k, v in switches.items()})


# -- defaults and switches ---------------------------------------------------------
def test_defaults_deliver_everywhere_but_sms_at_once():
    decision = decide(Preferences(), "general", "normal", utc(2026, 1, 10, 12))
    assert decision.live and not decision.quiet
    assert decision.channels == {"web_push": None, "email": None, "mobile_push": None}


def test_a_type_row_overrides_the_default_row_which_overrides_the_built_in_defaults():
    p = Preferences(switches={("*", "email"): False, ("*", "sms"): True,
                              ("security", "email"): True, ("security", "in_app"): False})
    now = utc(2026, 1, 10, 12)
    assert set(decide(p, "general", "normal", now).channels) == {"web_push", "mobile_push",
                                                                   "sms"}
    security = decide(p, "security", "normal", now)
    assert set(security.channels) == {"web_push", "email", "mobile_push", "sms"}
    assert not security.live and decide(p, "general", "normal", now).live


def test_a_type_switched_off_everywhere_goes_nowhere_but_the_inbox():
    p = Preferences(switches={("ci", c): False for c in ("in_app", *DELIVERY_CHANNELS)})
    decision = decide(p, "ci", "urgent", utc(2026, 1, 10, 12))
    assert decision.channels == {} and not decision.live and not decision.quiet


# -- quiet hours ------------------------------------------------------------------
def test_no_window_and_start_equal_to_end_mean_no_quiet_hours():
    now = utc(2026, 1, 10, 23)
    assert quiet_window_end(Preferences(), now) is None
    assert quiet_window_end(prefs("22:00", "22:00"), now) is None


def test_overnight_window_in_winter_berlin():
    p = prefs("22:00", "07:00", "Europe/Berlin")  # CET: UTC+1
    end = utc(2026, 1, 11, 6)
    assert quiet_window_end(p, utc(2026, 1, 10, 20, 59)) is None  # 21:59 local
    assert quiet_window_end(p, utc(2026, 1, 10, 21)) == end  # 22:00 local: starts
    assert quiet_window_end(p, utc(2026, 1, 10, 23, 30)) == end  # 00:30 local
    assert quiet_window_end(p, utc(2026, 1, 11, 5, 59)) == end  # 06:59 local
    assert quiet_window_end(p, utc(2026, 1, 11, 6)) is None  # 07:00 local: over


def test_same_day_window_and_any_zone_of_now():
    p = prefs("13:00", "14:30", "America/New_York")  # EST: UTC-5
    assert quiet_window_end(p, utc(2026, 1, 10, 18, 15)) == utc(2026, 1, 10, 19, 30)
    tokyo = utc(2026, 1, 10, 18, 15).astimezone(ZoneInfo("Asia/Tokyo"))
    assert quiet_window_end(p, tokyo) == utc(2026, 1, 10, 19, 30)
    assert quiet_window_end(p, utc(2026, 1, 10, 19, 30)) is None
    assert quiet_window_end(p, utc(2026, 1, 10, 17, 59)) is None


def test_urgent_bypasses_quiet_hours_and_the_rest_waits_for_the_window_end():
    p = prefs("22:00", "07:00", "Europe/Berlin")
    night = utc(2026, 1, 10, 23)
    held = decide(p, "general", "high", night)
    assert held.quiet and held.live
    assert held.channels == dict.fromkeys(("web_push", "email", "mobile_push"),
                                          utc(2026, 1, 11, 6))
    urgent = decide(p, "general", "urgent", night)
    assert not urgent.quiet
    assert urgent.channels == dict.fromkeys(("web_push", "email", "mobile_push"))


# -- across DST changes -----------------------------------------------------------
# Europe/Berlin 2026: 29 March 02:00 CET -> 03:00 CEST (01:00 UTC);
#                     25 October 03:00 CEST -> 02:00 CET (01:00 UTC).
# America/New_York 2026: 8 March 02:00 EST -> 03:00 EDT (07:00 UTC);
#                        1 November 02:00 EDT -> 01:00 EST (06:00 UTC).
def test_spring_forward_window_end_in_the_skipped_hour_ends_when_clocks_jump():
    p = prefs("22:00", "02:30", "Europe/Berlin")
    assert quiet_window_end(p, utc(2026, 3, 28, 21)) == utc(2026, 3, 29, 1)  # 22:00 CET
    assert quiet_window_end(p, utc(2026, 3, 29, 0, 59, 59)) == utc(2026, 3, 29, 1)
    assert quiet_window_end(p, utc(2026, 3, 29, 1)) is None  # 03:00 CEST: over
    ny = prefs("23:00", "02:30", "America/New_York")
    assert quiet_window_end(ny, utc(2026, 3, 8, 6, 59)) == utc(2026, 3, 8, 7)  # 01:59 EST
    assert quiet_window_end(ny, utc(2026, 3, 8, 7)) is None


def test_spring_forward_window_start_in_the_skipped_hour_starts_when_clocks_jump():
    p = prefs("02:30", "06:00", "Europe/Berlin")
    assert quiet_window_end(p, utc(2026, 3, 29, 0, 59)) is None  # 01:59 CET
    assert quiet_window_end(p, utc(2026, 3, 29, 1)) == utc(2026, 3, 29, 4)  # 03:00 CEST


def test_overnight_window_is_an_hour_shorter_on_the_spring_forward_night():
    p = prefs("22:00", "07:00", "Europe/Berlin")
    start = utc(2026, 3, 28, 21)  # 22:00 CET
    end = quiet_window_end(p, start)
    assert end == utc(2026, 3, 29, 5) and end - start == timedelta(hours=8)  # 07:00 CEST


def test_fall_back_window_end_in_the_repeated_hour_is_its_first_occurrence():
    p = prefs("22:00", "02:30", "Europe/Berlin")
    end = utc(2026, 10, 25, 0, 30)  # the first 02:30, still CEST
    assert quiet_window_end(p, utc(2026, 10, 24, 20)) == end  # 22:00 CEST
    assert quiet_window_end(p, utc(2026, 10, 25, 0, 29)) == end
    assert quiet_window_end(p, utc(2026, 10, 25, 0, 45)) is None  # 02:45 CEST
    assert quiet_window_end(p, utc(2026, 10, 25, 1, 15)) is None  # 02:15 CET, second time
    ny = prefs("22:00", "01:30", "America/New_York")
    assert quiet_window_end(ny, utc(2026, 11, 1, 5, 10)) == utc(2026, 11, 1, 5, 30)  # EDT
    assert quiet_window_end(ny, utc(2026, 11, 1, 6, 10)) is None  # 01:10 EST, second time


def test_overnight_window_is_an_hour_longer_on_the_fall_back_night():
    p = prefs("22:00", "07:00", "America/New_York")
    start = utc(2026, 11, 1, 2)  # 22:00 EDT on 31 October
    end = quiet_window_end(p, start)
    assert end == utc(2026, 11, 1, 12) and end - start == timedelta(hours=10)  # 07:00 EST
    assert quiet_window_end(p, utc(2026, 11, 1, 6, 30)) == end  # 01:30 EST, second time
    assert quiet_window_end(p, end) is None


def test_window_starting_in_the_repeated_hour_starts_at_its_first_occurrence():
    p = prefs("02:30", "05:00", "Europe/Berlin")
    assert quiet_window_end(p, utc(2026, 10, 25, 0, 29)) is None
    assert quiet_window_end(p, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 4)  # 05:00 CET


def test_wall_instant_of_a_skipped_time_is_the_jump_itself():
    berlin = ZoneInfo("Europe/Berlin")
    assert wall_instant(datetime(2026, 3, 29).date(), clock_time(2, 0), berlin) == \
        utc(2026, 3, 29, 1)
    assert wall_instant(datetime(2026, 3, 29).date(), clock_time(2, 59), berlin) == \
        utc(2026, 3, 29, 1)
    assert wall_instant(datetime(2026, 3, 29).date(), clock_time(3, 0), berlin) == \
        utc(2026, 3, 29, 1)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                  "Australia/Sydney", "Pacific/Chatham"])
def test_matches_the_local_clock_on_ordinary_days(zone):
    """Away from DST changes, quiet means the local clock is inside the window, and the
    end is the next time the clock reads the window's end."""
    rng = random.Random(zone)
    tz = ZoneInfo(zone)
    for _ in range(400):
        start = clock_time(rng.randrange(24), rng.choice((0, 15, 30, 45)))
        end = clock_time(rng.randrange(24), rng.choice((0, 15, 30, 45)))
        now = utc(2026, 1, 1) + timedelta(minutes=rng.randrange(365 * 24 * 60))
        local = now.astimezone(tz)
        near = [local + timedelta(hours=h) for h in (-26, 26)]
        if any(n.utcoffset() != local.utcoffset() for n in near):
            continue  # a DST change nearby: covered by the tests above
        clock = local.time()
        if start == end:
            inside = False
        elif start < end:
            inside = start <= clock < end
        else:
            inside = clock >= start or clock < end
        found = quiet_window_end(Preferences(timezone=zone, quiet_start=start,
                                             quiet_end=end), now)
        assert (found is not None) == inside, (start, end, local)
        if found is not None:
            ends = found.astimezone(tz)
            assert ends.time() == end and timedelta(0) < found - now <= timedelta(days=1)
