"""The README stays true: set-up commands first, every setting documented."""

import re
from pathlib import Path

from notifier import config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    head = README.split("\n## ")[0]
    assert head.index("make run") < head.index("make test") < 400


def test_every_setting_has_a_row():
    names = [n for n in vars(config) if n.isupper()]
    assert names, "config.py lost its settings"
    for name in names:
        variable = name if name in ("REDIS_URL", "SECRET_KEY") else f"NOTIFIER_{name}"
        assert f"| `{variable}` |" in README, f"{variable} is not in the README's table"


def test_gunicorn_variables_are_documented():
    conf = (Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text()


    for variable in set(re.findall(r'environ\.get\("([A-Z_]+)"', conf)):
        assert f"| `{variable}` |" in README, f"{variable} is not in the README's table"
