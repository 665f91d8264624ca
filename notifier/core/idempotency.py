"""Idempotent writes: a key remembered with the request's fingerprint and its outcome.

A script that writes under an idempotency key answers ``{'duplicate',
'<fingerprint>\n<outcome>'}`` when the key was used already; :func:`stored_outcome`
turns that into the first outcome, or :class:`IdempotencyConflict` for another request.
"""

from __future__ import annotations

from typing import Any


class IdempotencyConflict(Exception):
    """An idempotency key was reused with a different request."""


def stored_outcome(result: Any, idempotency: tuple[str, str, str] | None) -> str | None:
    """What an idempotent script stored the first time, when ``result`` is a replay.

    Scripts answer ``{'duplicate', '<fingerprint>\\n<outcome>'}`` for a key already
    used; a different fingerprint (another request under that key) raises
    :class:`IdempotencyConflict`.
    """
    if not (isinstance(result, list) and result and result[0] == b"duplicate"):
        return None
    fingerprint, _, outcome = result[1].decode().partition("\n")
    if idempotency is None or fingerprint != idempotency[2]:
        raise IdempotencyConflict
    return outcome
