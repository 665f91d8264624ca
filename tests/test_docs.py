"""The documentation stays true: set-up commands first, every setting documented by the
generated configuration page, links that lead somewhere."""

import importlib.util
import re
from pathlib import Path

import pytest

from notifier import config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
CONFIGURATION = ROOT / "docs" / "configuration.md"

#: [text](target) and ![alt](target), not inside inline code.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


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


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return LINK.findall(text)


@pytest.mark.parametrize("path", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_lead_to_files_and_headings_that_exist(path):
    for target in links(path):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.is_file(), f"{path.name}: {target} leads nowhere"
        if anchor:
            assert anchor in anchors(linked), f"{path.name}: no heading for {target}"


def test_the_link_pattern_finds_the_readmes_map_of_docs():
    found = links(ROOT / "README.md")
    for path in DOCS:
        assert f"docs/{path.name}" in found, f"the README does not link docs/{path.name}"
    assert "docs/images/inbox.png" in found


def test_the_slug_matches_githubs():
    assert slug("Holding, digests and budgets") == "holding-digests-and-budgets"
    assert slug("`GET /events`") == "get-events"


@pytest.mark.parametrize("path", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_no_document_names_an_issue(path):
    text = path.read_text()
    assert not re.search(r"\bissues?\b", text, flags=re.IGNORECASE), path.name
