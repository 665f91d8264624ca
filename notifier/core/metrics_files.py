"""The folder of metric files that every server process writes (prometheus_client's
multiprocess mode), as the gunicorn master keeps it.

Nothing here imports prometheus_client at import time: the master must set
``PROMETHEUS_MULTIPROC_DIR`` before it is first imported.
"""

from __future__ import annotations

import os


def prepare_multiprocess_dir(path: str) -> None:
    """Create ``path`` or empty it of an earlier run's metric files, which would
    otherwise be counted again."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def mark_process_dead(pid: int) -> None:
    """Stop counting a dead process's live gauges (its counters keep adding up)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
