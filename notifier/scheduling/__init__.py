"""Scheduled sends: their store, the runner that fires each on time, and what each kind
does (:mod:`notifier.scheduling.executors`)."""
