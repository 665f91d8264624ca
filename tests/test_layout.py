"""The package layout holds: no import circles, and no package imports one above it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "notifier"

#: Packages from the bottom up: each may import those before it, never those after.
LAYERS = ("core", "model", "stores", "scheduling", "delivery", "api", "live", "web", "admin")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def module_level_imports(path: Path) -> set[str]:
    """The notifier modules ``path`` imports when it is loaded (not inside functions or
    ``if TYPE_CHECKING``)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("notifier"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_package_imports_one_above_it():
    known = modules()
    upward = []
    for name, path in known.items():
        own = layer(name)
        for target in module_level_imports(path) & set(known):
            theirs = layer(target)
            if own and theirs and LAYERS.index(theirs) > LAYERS.index(own):
                upward.append(f"{name} -> {target}")
    assert upward == []


@pytest.mark.parametrize("share", range(3))
def test_every_module_imports_first_without_a_circle(share):
    # A circle shows as an ImportError when the module that closes it is imported
    # first: import each one first, in a fresh interpreter state.
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'notifier']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        failed.append(f'{name}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    names = sorted(n for n in modules() if not n.endswith("gunicorn"))[share::3]
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True,
                            text=True, timeout=300, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
