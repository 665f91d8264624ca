"""The plain-script builds of the JS client are made from its one source, and current."""

import re
import subprocess
import sys

from conftest import ROOT


def test_the_builds_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_js.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_builds_hold_the_source_and_set_only_their_global():
    source = (ROOT / "static" / "notifier.mjs").read_text()
    client = source[:source.index("// -- exports --")].strip().splitlines()
    plain = (ROOT / "static" / "notifier.js").read_text()
    widget = (ROOT / "static" / "notifier-widget.js").read_text()
    for built in (plain, widget):
        assert not re.search(r"^\s*(import|export)\b", built, re.MULTILINE)
        assert all(line.strip() in built for line in client)
    assert plain.count("window.Notifier = ") == 1
    assert not re.search(r"^\s*(window|globalThis)\.\w+ =", widget, re.MULTILINE)
