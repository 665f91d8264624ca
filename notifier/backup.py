"""Backups of one instance: every Redis key under its prefix, and its secret files.

A backup is one gzip file of JSON lines: a header (format, version, prefix, time),
the instance folder's secrets, one line per key (its DUMP, base64, and when it
expires), and a closing line with the counts, so a cut-off file is refused. Keys are
read with SCAN and pipelined DUMP/PTTL, and written back with RESTORE ... ABSTTL.

A backup of a running instance is consistent per key, not across keys (as SCAN
goes); stop the server first for an exact copy.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from notifier.bootstrap import SECRET_KEY_FILE, write_secret_file
from notifier.core.keys import Keys
from notifier.delivery.channels.vapid import VAPID_KEY_FILE
from notifier.stores.nodes import masters

FORMAT = "notifier-backup"
VERSION = 1

#: The instance folder's files a backup carries (each only when it exists).
SECRET_FILES = (SECRET_KEY_FILE, VAPID_KEY_FILE)

#: Keys read or written per round trip.
BATCH = 500


class BackupError(Exception):
    """A backup that cannot be written or restored; the message says why."""


@dataclass
class Summary:
    """What a backup holds, or what a restore wrote."""

    keys: int = 0
    secrets: list[str] = field(default_factory=list)
    expired: int = 0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _keys_of(client: redis.Redis, keys: Keys) -> Iterator[list[bytes]]:
    """Every key under the instance's prefix, in batches (SCAN on every master of a
    cluster: each holds its own slots' keys)."""
    batch: list[bytes] = []
    for node in masters(client):
        for name in node.scan_iter(match=keys.everything(), count=1000):
            batch.append(name)
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _line(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_backup(client: redis.Redis, keys: Keys, instance: Path, path: Path) -> Summary:
    """Write the instance's Redis data and secrets to ``path`` (mode 0600, replaced
    atomically: an interrupted backup leaves any earlier file at ``path`` whole)."""
    summary = Summary()
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
            out.write(_line({"format": FORMAT, "version": VERSION, "prefix": keys.prefix,
                             "created_at": _now_ms()}))
            for name in SECRET_FILES:
                secret = instance / name
                if secret.is_file():
                    out.write(_line({"secret": name, "data": _b64(secret.read_bytes())}))
                    summary.secrets.append(name)
            for batch in _keys_of(client, keys):
                pipe = client.pipeline(transaction=False)
                for name in batch:
                    pipe.pttl(name)
                    pipe.dump(name)
                replies = pipe.execute()
                now = _now_ms()
                for name, ttl, value in zip(batch, replies[::2], replies[1::2], strict=True):
                    if value is None:  # gone between SCAN and DUMP
                        continue
                    out.write(_line({"key": _b64(name), "value": _b64(value),
                                     "expires_at": now + ttl if ttl > 0 else None}))
                    summary.keys += 1
            out.write(_line({"end": True, "keys": summary.keys,
                             "secrets": len(summary.secrets)}))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return summary


def _records(path: Path) -> Iterator[dict]:
    """The backup's lines, checked: a header first, an end line last that counts them."""
    try:
        with gzip.open(path, "rb") as lines:
            header = json.loads(lines.readline() or b"null")
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise BackupError(f"{path} is not a notifier backup")
            if header.get("version") != VERSION:
                raise BackupError(f"{path} is a backup of version {header.get('version')}; "
                                  f"this notifier reads version {VERSION}")
            yield header
            counts = {"keys": 0, "secrets": 0}
            for line in lines:
                record = json.loads(line)
                if record.get("end"):
                    if (record.get("keys"), record.get("secrets")) != (counts["keys"],
                                                                       counts["secrets"]):
                        raise BackupError(f"{path} is damaged: its counts do not match")
                    yield record
                    return
                if "secret" in record and record["secret"] not in SECRET_FILES:
                    raise BackupError(f"{path} holds an unknown file {record['secret']!r}")
                counts["keys" if "key" in record else "secrets"] += 1
                yield record
    except gzip.BadGzipFile:
        raise BackupError(f"{path} is not a notifier backup") from None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise BackupError(f"{path} cannot be read ({exc})") from None
    raise BackupError(f"{path} is incomplete: the backup was cut off")


def read_backup(path: Path) -> Summary:
    """Check the whole backup at ``path`` and say what it holds."""
    summary = Summary()
    for record in _records(path):
        if "key" in record:
            summary.keys += 1
        elif "secret" in record:
            summary.secrets.append(record["secret"])
    return summary


def _existing(client: redis.Redis, keys: Keys) -> int:
    found = 0
    for batch in _keys_of(client, keys):
        found += len(batch)
    return found


def _delete_all(client: redis.Redis, keys: Keys) -> None:
    for batch in _keys_of(client, keys):
        client.unlink(*batch)


def restore_backup(client: redis.Redis, keys: Keys, instance: Path, path: Path, *,
                   replace: bool = False) -> Summary:
    """Write the backup at ``path`` back: its keys into Redis (each with what remains of
    its time to live; keys that expired meanwhile are left out) and its secret files
    into ``instance`` (mode 0600).

    The whole file is checked first. Refused when the instance already has keys in
    Redis, unless ``replace``, which deletes them first. Should Redis refuse a key
    (a DUMP from a newer Redis), the keys written so far are deleted again.
    """
    read_backup(path)
    records = _records(path)
    header = next(records)
    if header["prefix"] != keys.prefix:
        raise BackupError(f"{path} holds the keys of prefix {header['prefix']!r}; this "
                          f"instance's is {keys.prefix!r} (set NOTIFIER_KEY_PREFIX to match)")
    existing = _existing(client, keys)
    if existing and not replace:
        raise BackupError(f"Redis already holds {existing} keys of prefix {keys.prefix!r}: "
                          "stop the servers and restore with --replace to delete them first")
    if existing:
        _delete_all(client, keys)
    summary = Summary()
    secrets: dict[str, bytes] = {}
    written: list[bytes] = []
    pipe = client.pipeline(transaction=False)
    try:
        for record in records:
            if "secret" in record:
                secrets[record["secret"]] = base64.b64decode(record["data"])
            elif "key" in record:
                expires_at = record["expires_at"]
                if expires_at is not None and expires_at <= _now_ms():
                    summary.expired += 1
                    continue
                name = base64.b64decode(record["key"])
                pipe.restore(name, expires_at or 0, base64.b64decode(record["value"]),
                             absttl=expires_at is not None)
                written.append(name)
                if len(pipe) >= BATCH:
                    pipe.execute()
        pipe.execute()
    except redis.ResponseError as exc:
        for start in range(0, len(written), BATCH):
            client.unlink(*written[start:start + BATCH])
        raise BackupError(f"Redis refused a key of {path} ({exc}); nothing was restored "
                          "(a backup restores into the same or a newer Redis)") from None
    summary.keys = len(written)
    for name, data in secrets.items():
        write_secret_file(instance, name, data.decode())
        summary.secrets.append(name)
    return summary
