"""The workers' garbage-collection policy freezes survivors and reclaims frozen cycles."""

import gc
import weakref

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
