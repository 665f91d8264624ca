"""The systemd units in deploy/systemd/: valid units whose commands are notifier's own.

The units expect the code in /opt/notifier; the test puts this checkout's path there
(the one edit docs/deployment.md tells operators who install elsewhere to make), so
that ``systemd-analyze verify`` finds the executables it checks.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTALL_DIR = "/opt/notifier"
COMMANDS = {"notifier.service": "serve", "notifier-worker.service": "worker",
            "notifier-scheduler.service": "scheduler"}


def parse(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


@pytest.fixture
def installed(tmp_path) -> Path:
    """The units as installed from this checkout."""
    venv = Path(sys.executable).parent.parent
    for path in UNITS.glob("*.service"):
        text = path.read_text().replace(f"{INSTALL_DIR}/.venv", str(venv))
        (tmp_path / path.name).write_text(text.replace(INSTALL_DIR, str(ROOT)))
    return tmp_path


def test_there_is_a_unit_for_each_process():
    assert {path.name for path in UNITS.glob("*.service")} == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_unit_runs_its_notifier_command(name):
    unit = parse(UNITS / name)
    service = unit["Service"]
    assert shlex.split(service["ExecStart"]) == [f"{INSTALL_DIR}/.venv/bin/notifier",
                                                 COMMANDS[name]]
    assert service["WorkingDirectory"] == INSTALL_DIR
    assert service["User"] == "notifier"
    environment = shlex.split(service["Environment"])
    assert environment[0] == "NOTIFIER_INSTANCE_PATH=/var/lib/notifier"
    if name != "notifier.service":  # counted in the server's /metrics (its default folder)
        assert environment[1:] == ["PROMETHEUS_MULTIPROC_DIR=/var/lib/notifier/metrics"]
    assert service["StateDirectory"] == "notifier" and service["UMask"] == "0077"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if name != "notifier.service":  # the embedded Redis belongs to the server
        assert "notifier.service" in unit["Unit"]["After"].split()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_commands_exist(name, redis_server, tmp_path):
    """Each ExecStart names a command of this checkout's ``notifier``."""
    env = {**os.environ, "REDIS_URL": redis_server.url,
           "NOTIFIER_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).parent / "notifier"), COMMANDS[name],
                           "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_the_server_stops_within_systemds_timeout():
    """systemd kills what is left after TimeoutStopSec: gunicorn must be done by then."""
    service = parse(UNITS / "notifier.service")["Service"]
    graceful = re.search(r'"NOTIFIER_GRACEFUL_TIMEOUT", "(\d+)"',
                         (ROOT / "gunicorn.conf.py").read_text())
    assert int(service["TimeoutStopSec"]) > int(graceful.group(1))
    assert service["KillMode"] == "mixed" and service["Type"] == "notify"


def test_systemd_analyze_verify_accepts_them(installed):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the units are still parsed above)")
    done = subprocess.run([analyze, "verify", *map(str, sorted(installed.glob("*.service")))],
                          capture_output=True, text=True, timeout=60)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if any(name in line for name in COMMANDS)]
    assert done.returncode == 0 and not ours, done.stdout + done.stderr
