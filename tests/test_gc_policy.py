"""The workers' garbage-collection policy freezes survivors and reclaims frozen cycles."""

import gc
import subprocess
import sys
import weakref
from pathlib import Path

from notifier.core.gc_policy import GcPolicy


class Cycle:
    def __init__(self):
        self.me = self


def test_freezes_survivors_then_reclaims_frozen_cycles():
    gc.unfreeze()
    try:
        policy = GcPolicy(freeze_every=1.0, reclaim_every=60.0)
        garbage = Cycle()
        ref = weakref.ref(garbage)
        policy.tick(100.0)
        assert gc.get_freeze_count() > 0  # survivors are frozen: never scanned again
        del garbage
        gc.collect()
        assert ref() is not None  # a frozen cycle outlives ordinary collections
        policy.tick(100.5)  # not time for anything yet
        assert ref() is not None
        policy.tick(200.0)  # past reclaim_every: unfreeze, collect, freeze again
        assert ref() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_growth_alone_never_pauses_for_a_full_collection():
    """Thousands of streams opening at once multiply the frozen objects; reclaiming then
    would pause every stream of the worker just as they start. (In a fresh interpreter,
    whose heap is small and known.)"""
    script = """
import gc, weakref
from notifier.core.gc_policy import GcPolicy
class Cycle:
    def __init__(self):
        self.me = self
policy = GcPolicy(freeze_every=1.0, reclaim_every=60.0)
policy.tick(100.0)
garbage = Cycle()
ref = weakref.ref(garbage)
policy.tick(101.0)
del garbage
opened = [[n] for n in range(400_000)]  # what many new streams hold, tracked by gc
policy.tick(102.0)  # the new objects are frozen too
policy.tick(103.0)
print("frozen cycle kept through growth:", ref() is not None)
policy.tick(200.0)
print("reclaimed on time:", ref() is None)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["frozen cycle kept through growth: True",
                                           "reclaimed on time: True"], done.stdout
