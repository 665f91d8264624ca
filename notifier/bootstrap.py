"""What a server does on its first start: a secret key, the data format's version
and a first admin."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import redis

from notifier.backend import Backend

log = logging.getLogger(__name__)

#: Username of the admin account created on first start.
FIRST_ADMIN = "admin"

#: The file in the instance folder that holds the secret key (when SECRET_KEY is not set).
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)

#: The file in the instance folder that receives the first admin's password.
FIRST_ADMIN_PASSWORD_FILE = "first-admin-password"  # noqa: S105 (a file name)


def instance_secret_key(instance_path: str) -> str:
    """The secret key kept in ``instance/secret_key``, created on first use.

    Several workers may start at once: the key is written to a temporary file
    and linked into place, so exactly one key wins and every worker reads it.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_KEY_FILE
    if not path.exists():
        temporary = folder / f".secret_key.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker won the race; use its key
        finally:
            temporary.unlink()
    return path.read_text().strip()


def require_known_format(state: Backend) -> None:
    """Record the data format on a first start; raise
    :class:`~notifier.stores.data_format.DataFormatError` on one this code does not use.

    With Redis unreachable the check is skipped (with a warning): a server starts
    before its Redis, and waits for it, rather than failing.
    """
    try:
        state.data_format.require_known()
    except redis.ConnectionError as exc:
        log.warning("could not check the data format: %s", exc)


def create_first_admin(state: Backend, instance_path: str) -> None:
    """With no accounts at all, create ``admin`` with a generated password, write the
    password to ``instance/first-admin-password`` (mode 0600) and log where it is.

    The password itself never reaches a log. Creation is atomic, so when several
    workers start together only one creates the account and writes the file.
    """
    try:
        if state.accounts.count():
            return
        password = secrets.token_urlsafe(12)
        if not state.accounts.create(FIRST_ADMIN, password, admin=True):
            return
    except redis.ConnectionError as exc:
        log.warning("could not check for a first admin: %s", exc)
        return
    path = write_secret_file(Path(instance_path), FIRST_ADMIN_PASSWORD_FILE, password + "\n")
    log.warning("created the first admin account: username %s; its password is in %s: "
                "delete the file after signing in (and change the password at "
                "/account/password)", FIRST_ADMIN, path)


def write_secret_file(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` readable by this user only (0600), replacing
    any file there, and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temporary = folder / f".{name}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return path
