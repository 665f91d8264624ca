"""The documentation stays true: set-up commands first, every setting documented by the
generated configuration page."""

import importlib.util
import re
from pathlib import Path

import pytest

from notifier import config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONFIGURATION = ROOT / "docs" / "configuration.md"

def generator():
    spec = importlib.util.spec_from_file_location("gen_config_doc",
                                                  ROOT / "scripts" / "gen_config_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_starts_with_the_two_commands():
    head = README.split("\n## ")[0]
    assert head.index("make run") < head.index("make test") < 400


def test_the_configuration_page_is_what_the_script_writes():
    assert CONFIGURATION.read_text() == generator().render(), \
        "docs/configuration.md is out of date: run make docs"


def test_every_setting_has_a_row():
    page = CONFIGURATION.read_text()
    names = [n for n in vars(config) if n.isupper()]
    assert len(names) > 50, "config.py lost its settings"
    for name in names:
        variable = name if name in ("REDIS_URL", "SECRET_KEY") else f"NOTIFIER_{name}"
        assert f"| `{variable}` |" in page, f"{variable} is not in docs/configuration.md"


def test_gunicorn_variables_are_documented():
    page = CONFIGURATION.read_text()
    conf = (ROOT / "gunicorn.conf.py").read_text()
    variables = set(re.findall(r'environ\.get\("([A-Z_]+)"', conf)) - {"REDIS_URL"}
    assert {"NOTIFIER_BIND", "WEB_CONCURRENCY", "NOTIFIER_INSTANCE_PATH"} <= variables
    for variable in variables:
        assert f"| `{variable}` |" in page, f"{variable} is not in docs/configuration.md"


def test_the_generator_refuses_a_setting_without_a_comment(tmp_path, monkeypatch):
    module = generator()
    bare = tmp_path / "config.py"
    bare.write_text('#: Documented.\nDOCUMENTED = 1\n\nUNDOCUMENTED = 2\n')
    monkeypatch.setattr(module, "CONFIG", bare)
    with pytest.raises(SystemExit, match="UNDOCUMENTED has no #: comment"):
        module.config_rows()
