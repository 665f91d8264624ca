"""Self-registration's rule: a new account never takes an id that is not free.

An id is not free when an account has it in any letter case, when it matches one of
``RESERVED_USER_IDS``, or when senders addressed it (or its lowercase form): anything is
stored under its per-user keys. Registration then says only that the name is not
available, so it does not reveal which recipients exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from notifier.stores.accounts import Accounts


def is_reserved(user_id: str, patterns: Iterable[str]) -> bool:
    """Whether ``user_id`` matches one of the glob ``patterns``, in any case."""
    low = user_id.lower()
    return any(fnmatchcase(low, pattern.lower()) for pattern in patterns)


def register(accounts: Accounts, user_id: str, password: str, *,
             reserved: Iterable[str]) -> bool:
    """Create the account when ``user_id`` is free; False (nothing written) otherwise."""
    if is_reserved(user_id, reserved) or accounts.exists_in_any_case(user_id):
        return False
    low = user_id.lower()
    if low != user_id and accounts.addressed(low):
        return False
    # The id's own keys are checked in the script that creates the account.
    return accounts.create(user_id, password, unclaimed=True)
