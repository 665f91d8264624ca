"""Schemathesis against the OpenAPI document a real server serves: no 5xx, and every
answer as documented, for data the document allows and data it forbids."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.core import widget_tokens as tokens

from conftest import LiveServer, live_env

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).parent / "st")
#: What must hold for every request. positive_data_acceptance is left out: some rules
#: cannot be written in JSON Schema (expires_at and send_at in the future, send_at at
#: most a year ahead and before expires_at, ends_at after starts_at, valid IPv4/IPv6
#: addresses and ports, an existing group or notification), so schema-valid data may
#: rightly get a 404 or 422. Everything the document forbids must be refused with a 4xx
#: (negative_data_rejection), and every answer must match the document.
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
    "negative_data_rejection", "unsupported_method", "allow_header_conformance",
])
# Not fuzzed: /ws (a WebSocket upgrade: schemathesis speaks plain HTTP, and an upgraded
# socket stays open). The long-lived SSE stream (/events) is not in the document.
RUNS = [
    # (name, operations, phases, examples per operation); each its own test, so that
    # parallel test workers share them out.
    ("API key, parameters", ["--include-method", "GET", "--include-method", "DELETE",
                             "--include-method", "PUT", "--exclude-path-regex", "^/(me|ws)"],
     "examples,coverage,fuzzing", 50),
    ("API key, send bodies", ["--include-method", "POST", "--include-path-regex",
                              "^/notifications"], "examples,fuzzing", 150),
    ("API key, other bodies", ["--include-method", "POST", "--exclude-path-regex",
                               "^/(me|ws|notifications)"], "examples,fuzzing", 150),
    ("widget token", ["--include-path-regex", "^/me/"], "examples,coverage,fuzzing", 50),
]


@pytest.fixture(scope="module")
def fuzz_server(redis_server, tmp_path_factory) -> Iterator[LiveServer]:
    """One worker with budgets no fuzzing run reaches (a 429 would hide the answer) and no
    scheduler (scheduled sends it makes are left alone)."""
    server = LiveServer({**live_env(redis_server.url, tmp_path_factory.mktemp("fuzz")),
                         "NOTIFIER_API_RATE_LIMIT": "1000000 per minute",
                         "NOTIFIER_WIDGET_RATE_LIMIT": "1000000 per minute",
                         "NOTIFIER_SCHEDULER": "false"}, workers=1)
    yield server
    server.stop()


def schemathesis(url: str, secret: str, select: list[str], phases: str, examples: int,
                 workdir: Path) -> tuple[int, str]:
    """Run ``st`` in ``workdir`` (it keeps a cache of crashes there, which would replay
    in later runs)."""
    command = [ST, "run", f"{url}/api/v1/openapi.json", "--url", f"{url}/api/v1",
               "-H", f"Authorization: Bearer {secret}", "--checks", CHECKS, *select,
               "--phases", phases, "--max-examples", str(examples), "--seed", "20261121",
               "--generation-database", "none", "--workers", "1", "--no-color",
               "--request-timeout", "10"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=workdir)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "select", "phases", "examples"), RUNS,
                         ids=[run[0] for run in RUNS])
def test_the_api_behaves_as_its_openapi_document_says(fuzz_server, store, api_key, tmp_path,
                                                      name, select, phases, examples):
    secret = tokens.mint("test-secret", "fuzz-user", 3600, [])[0] if name == "widget token" \
        else api_key
    started = time.monotonic()
    code, output = schemathesis(fuzz_server.url, secret, select, phases, examples, tmp_path)
    summary = [line.strip() for line in output.splitlines()
               if "generated" in line or "Selected:" in line or " in " in line[-12:]]
    print(f"schemathesis in {time.monotonic() - started:.0f} s:", " | ".join(summary))
    assert "Selected: 0" not in output, output[-2000:]
    assert code == 0, output[-20000:]
