"""User accounts and their sign-in sessions, kept in Redis.

An account's user id is its username. An account may have no password: then it signs
in only through sign-in links (``notifier.stores.sign_in_links``) until a set-password link
gives it one. Each sign-in creates a random session
token stored server-side and carried in the signed session cookie, so a new
sign-in rotates the session id, signing out revokes it, and changing the
password revokes every other session.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis
from flask_login import UserMixin

from notifier.core.ids import is_api_key_id, is_user_id
from notifier.core.keys import Keys
from notifier.core.passwords import check_password, hash_password
from notifier.stores.lua_scripts import load_script
from notifier.stores.revocation import Revocations

#: Sessions kept per account; the oldest beyond this are revoked.
MAX_SESSIONS = 50

#: Accounts copied into the name index per round trip when it is backfilled.
_BACKFILL_CHUNK = 1000

# Compared against when the account does not exist, so that a wrong username
# costs the same time as a wrong password.
_DUMMY_HASH = None


@dataclass
class Account(UserMixin):
    """A signed-in (or loaded) account."""

    user_id: str
    is_admin: bool
    disabled: bool
    created_at: float
    session_token: str = ""
    #: False for an account made by a sign-in link or an invite not yet used.
    has_password: bool = True
    #: When the current session started (epoch seconds).
    session_started: float = 0.0

    @property
    def session_key_id(self) -> str | None:
        """The API key whose sign-in link started this session, if one did."""
        return session_key_id(self.session_token)

    def get_id(self) -> str:
        """What flask-login keeps in the session: the user id and session token."""
        return f"{self.user_id}|{self.session_token}"

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive accounts
        return not self.disabled


class Accounts:
    """Account storage on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys, *, session_lifetime: float,
                 revocations: Revocations | None = None):
        self.client = client
        self.keys = keys
        self.session_lifetime = session_lifetime
        self.revocations = revocations or Revocations(client, keys)
        self._create = load_script(client, "create_if_absent")
        self._set_flag = load_script(client, "set_account_flag")
        self._create_unclaimed = load_script(client, "create_unclaimed")

    def create(self, user_id: str, password: str | None, *, admin: bool = False,
               unclaimed: bool = False) -> bool:
        """Create an account; False when the username is taken.

        ``password`` None makes an account no password can sign in to. ``unclaimed``
        also refuses (False) an id that senders addressed: anything stored under its
        per-user keys (:meth:`Keys.traces`), checked atomically with the creation.
        """
        if not is_user_id(user_id):
            raise ValueError("invalid user id")
        now = time.time()
        fields = ["admin", int(admin), "disabled", 0, "created_at", now]
        if password is not None:
            fields += ["password", hash_password(password)]
        if unclaimed:
            created = self._create_unclaimed(
                keys=[self.keys.account(user_id), *self.keys.traces(user_id)], args=fields)
            if created != 1:
                return False
        elif not self._create(keys=[self.keys.account(user_id)], args=fields):
            return False
        # Not one transaction: the two sets may live on different Cluster shards. A
        # crash in between leaves the name index short, and search() backfills it.
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.keys.accounts(), {user_id: now})
        pipe.zadd(self.keys.account_names(), {_name_entry(user_id): 0})
        # The user appears: broadcasts from now on are theirs (notifier.stores.feed).
        pipe.hsetnx(self.keys.broadcast_state(user_id), "since", int(now * 1000))
        pipe.execute()
        return True

    def addressed(self, user_id: str) -> bool:
        """Whether anything is stored under the user's per-user keys (:meth:`Keys.traces`)."""
        return bool(is_user_id(user_id) and self.client.exists(*self.keys.traces(user_id)))

    def exists_in_any_case(self, user_id: str) -> bool:
        """Whether an account's username equals ``user_id`` but for letter case."""
        if not is_user_id(user_id):
            return False
        self._ensure_name_index()
        low = user_id.lower().encode()
        return bool(self.client.zrangebylex(self.keys.account_names(), b"[" + low + b"\0",
                                            b"[" + low + b"\0\xff", start=0, num=1))

    def count(self) -> int:
        """How many accounts exist."""
        return self.client.zcard(self.keys.accounts())

    def newest(self, offset: int, count: int) -> list[Account]:
        """``count`` accounts, newest first, skipping the ``offset`` newest."""
        ids = self.client.zrevrange(self.keys.accounts(), offset, offset + count - 1)
        return self._load_many([i.decode() for i in ids])

    def search(self, prefix: str, *, after: str | None = None, count: int) -> list[Account]:
        """Up to ``count`` accounts whose username starts with ``prefix`` (any case),
        in name order, after the username ``after``.

        ``prefix`` must be made of username characters (ValueError otherwise), so
        it can only ever be a plain range bound.
        """
        if prefix and not is_user_id(prefix):
            raise ValueError("invalid username prefix")
        self._ensure_name_index()
        low = prefix.lower().encode()
        start = b"[" + low
        if after is not None and is_user_id(after) and after.lower().startswith(prefix.lower()):
            start = b"(" + _name_entry(after).encode()
        entries = self.client.zrangebylex(self.keys.account_names(), start, b"(" + low + b"\xff",
                                          start=0, num=count)
        return self._load_many([e.decode().partition("\0")[2] for e in entries])

    def set_admin(self, user_id: str, admin: bool) -> bool:
        """Grant or revoke admin rights; False when there is no such account."""
        return self._flag(user_id, "admin", admin, revoke_sessions=False)

    def set_disabled(self, user_id: str, disabled: bool) -> bool:
        """Disable (and sign out everywhere at once: sessions, widget tokens, open
        streams) or enable an account; False when there is no such account."""
        changed = self._flag(user_id, "disabled", disabled, revoke_sessions=disabled)
        if changed and disabled:
            self.revocations.revoke_user(user_id)
        return changed

    def sign_out_everywhere(self, user_id: str) -> None:
        """Revoke every session of the account, and every widget token and sign-in link
        issued for the user until now; their open streams close at once."""
        self.client.delete(self.keys.sessions(user_id))
        self.revocations.revoke_user(user_id)

    def _flag(self, user_id: str, field: str, value: bool, *, revoke_sessions: bool) -> bool:
        if not is_user_id(user_id):
            return False
        return bool(self._set_flag(
            keys=[self.keys.account(user_id), self.keys.sessions(user_id)],
            args=[field, int(value), int(revoke_sessions)]))

    def _ensure_name_index(self) -> None:
        """Backfill the name index with accounts made before it existed (or left out
        by a crash); a no-op costing two ZCARDs once they agree."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(self.keys.accounts())
        pipe.zcard(self.keys.account_names())
        accounts, indexed = pipe.execute()
        if indexed >= accounts:
            return
        for start in range(0, accounts, _BACKFILL_CHUNK):
            ids = self.client.zrange(self.keys.accounts(), start, start + _BACKFILL_CHUNK - 1)
            if not ids:
                break
            self.client.zadd(self.keys.account_names(),
                             {_name_entry(i.decode()): 0 for i in ids})

    def _load_many(self, user_ids: list[str]) -> list[Account]:
        pipe = self.client.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(self.keys.account(user_id))
        loaded = zip(user_ids, pipe.execute(), strict=True)
        return [account for account in (self._from_hash(u, f) for u, f in loaded) if account]

    def get(self, user_id: str) -> Account | None:
        """The account named ``user_id``, if any."""
        if not is_user_id(user_id):
            return None
        return self._from_hash(user_id, self.client.hgetall(self.keys.account(user_id)))

    def authenticate(self, user_id: str, password: str) -> Account | None:
        """The account when ``password`` is right and the account is enabled."""
        global _DUMMY_HASH
        stored = self.client.hget(self.keys.account(user_id), "password") if is_user_id(
            user_id) else None
        if not stored:  # no account, or one without a password: never a match
            if _DUMMY_HASH is None:
                _DUMMY_HASH = hash_password(secrets.token_hex(8))
            check_password(_DUMMY_HASH, password)
            return None
        if not check_password(stored.decode(), password):
            return None
        account = self.get(user_id)
        return account if account and account.is_active else None

    def set_password(self, user_id: str, password: str, *, keep_session: str = "") -> None:
        """Change the password and revoke every session but ``keep_session``."""
        pipe = self.client.pipeline(transaction=True)  # one slot: a MULTI on a cluster too
        pipe.hset(self.keys.account(user_id), "password", hash_password(password))
        pipe.delete(self.keys.sessions(user_id))
        if keep_session:
            pipe.zadd(self.keys.sessions(user_id), {keep_session: time.time()})
        pipe.execute()
        self.revocations.end_sessions(user_id, keep=keep_session or None)

    # -- sessions ---------------------------------------------------------
    def start_session(self, account: Account, *, key_id: str | None = None) -> Account:
        """Record a new session for ``account`` and return it carrying the token.

        A session started by a sign-in link names the API key that minted the link
        (``<random>.<key id>``): revoking that key ends the session.
        """
        token = secrets.token_urlsafe(24) + (f".{key_id}" if key_id else "")
        now = time.time()
        key = self.keys.sessions(account.user_id)
        pipe = self.client.pipeline(transaction=True)  # one key: a MULTI on a cluster too
        pipe.zadd(key, {token: now})
        pipe.zremrangebyscore(key, "-inf", now - self.session_lifetime)
        pipe.zremrangebyrank(key, 0, -MAX_SESSIONS - 1)
        pipe.expire(key, int(self.session_lifetime))
        pipe.execute()
        account.session_token = token
        account.session_started = now
        return account

    def load_session(self, session_id: str) -> Account | None:
        """The account of a live session id (``user_id|token``), else None."""
        user_id, _, token = session_id.partition("|")
        if not is_user_id(user_id) or not token:
            return None
        key_id = session_key_id(token)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.keys.account(user_id))
        pipe.zscore(self.keys.sessions(user_id), token)
        if key_id:
            pipe.hget(self.keys.api_key(key_id), "revoked")
        fields, started, *key_state = pipe.execute()
        if started is None or started < time.time() - self.session_lifetime:
            return None
        if key_state and key_state[0] != b"0":  # its sign-in link's key was revoked
            return None
        account = self._from_hash(user_id, fields)
        if account is None or not account.is_active:
            return None
        account.session_token = token
        account.session_started = started
        return account

    def end_session(self, account: Account) -> None:
        """Revoke the account's current session; its open streams close."""
        self.client.zrem(self.keys.sessions(account.user_id), account.session_token)
        self.revocations.end_session(account.user_id, account.session_token)

    @staticmethod
    def _from_hash(user_id: str, fields: dict) -> Account | None:
        if not fields:
            return None
        return Account(
            user_id=user_id,
            is_admin=fields.get(b"admin") == b"1",
            disabled=fields.get(b"disabled") == b"1",
            created_at=float(fields.get(b"created_at", 0)),
            has_password=bool(fields.get(b"password")),
        )


def session_key_id(token: str) -> str | None:
    """The API key named by a session token started through a sign-in link, if any."""
    _, dot, key_id = token.partition(".")
    return key_id if dot and is_api_key_id(key_id) else None


def _name_entry(user_id: str) -> str:
    """The name index member of ``user_id``: lowercased for search, then the name itself.

    NUL sorts before every username character, so ``bo`` comes before ``bob``.
    """
    return f"{user_id.lower()}\0{user_id}"
