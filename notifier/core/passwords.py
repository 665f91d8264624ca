"""Password hashing with Argon2id, run where it cannot stall live streams.

A hash takes tens of milliseconds of CPU. In a gevent worker that would freeze
every stream on the worker for that long, so hashing runs in gevent's thread
pool (argon2-cffi releases the GIL) whenever gevent has patched the process.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from gevent import get_hub

from notifier.core.runtime import gevent_patched

# OWASP's Argon2id setting (m=19 MiB, t=2, p=1): about 25 ms a hash here, where
# argon2-cffi's default (m=64 MiB, t=3, p=4) takes 130 ms of two cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def _off_hub(function, *args):
    if not gevent_patched():
        return function(*args)
    return get_hub().threadpool.apply(function, args)


def hash_password(password: str) -> str:
    """A salted Argon2id hash of ``password``."""
    return _off_hub(_hasher.hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    # Caught in the pool thread: an exception crossing back would be printed as
    # a traceback by gevent's thread pool on every wrong password.
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``."""
    return _off_hub(_verify, stored_hash, password)
