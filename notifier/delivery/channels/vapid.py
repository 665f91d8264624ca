"""This server's VAPID key pair (RFC 8292), kept in the instance folder.

Apart from the web push adapter so that the web app, which only shows the
public key to pages, does not import the HTTP and encryption stack.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

log = logging.getLogger(__name__)

#: File in the instance folder holding the VAPID private key (PEM).
VAPID_KEY_FILE = "vapid_private.pem"


def load_vapid(instance_path: str | os.PathLike) -> Vapid:
    """This server's VAPID key pair, made and saved on first use.

    Several processes may start at once: the key is written to a temporary file
    and linked into place, so exactly one key wins and everyone reads it.
    """
    folder = Path(instance_path)
    path = folder / VAPID_KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fresh = Vapid()
        fresh.generate_keys()
        temporary = folder / f".{VAPID_KEY_FILE}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(fresh.private_pem())
        try:
            os.link(temporary, path)
            log.info("made a VAPID key pair in %s", path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            temporary.unlink()
    return Vapid.from_file(str(path))


def public_key(vapid: Vapid) -> str:
    """The VAPID public key as a page passes it to ``pushManager.subscribe`` (base64url)."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_subject(subject: str) -> str:
    """``subject`` when it is a contact push services accept (mailto: or https:)."""
    if not (subject.startswith("mailto:") and "@" in subject) and not subject.startswith(
            "https://"):
        raise ValueError("NOTIFIER_WEBPUSH_SUBJECT must be a mailto: address or an https: URL, "
                         f"not {subject!r}")
    return subject
