"""The folder of metric files that every server process writes (prometheus_client's
multiprocess mode), as the gunicorn master keeps it.

Nothing here imports prometheus_client at import time: the master must set
``PROMETHEUS_MULTIPROC_DIR`` before it is first imported.
"""

from __future__ import annotations

import os


def prepare_multiprocess_dir(path: str) -> None:
    """Create ``path``, or clear it of the files of processes that are gone (an earlier
    run's, which would otherwise be counted again). The files of a delivery worker or a
    scheduler still running on this host stay: its counts keep adding up."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        pid = pid_of(name)
        if pid is not None and not is_running(pid):
            os.remove(os.path.join(path, name))


def pid_of(name: str) -> int | None:
    """The pid in a metric file's name (``counter_1234.db``, ``gauge_livesum_1234.db``)."""
    stem, dot, extension = name.rpartition(".")
    pid = stem.rpartition("_")[2]
    return int(pid) if dot and extension == "db" and pid.isdigit() else None


def is_running(pid: int) -> bool:
    """Whether a process ``pid`` exists (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_process_dead(pid: int) -> None:
    """Stop counting a dead process's live gauges (its counters keep adding up)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
