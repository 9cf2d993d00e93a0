"""README.md stays true: its examples run and print what they say, and it starts with the two commands."""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def test_readme_starts_with_setup_and_test_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", TEXT, flags=re.DOTALL)
    assert first_block and first_block.start() < TEXT.index("\n## "), "the commands must come first"
    lines = first_block.group(1).splitlines()
    setup, tests = [line for line in lines if line.strip() and not line.startswith("#")]
    assert "apt-get install -y graphviz" in setup and "python3 -m venv .venv" in setup
    assert "pip install -e '.[dev,notebooks]'" in setup
    assert setup.split("&&")[-1].strip().startswith(".venv/bin/python -m ")  # ends by running the demo
    assert tests == ".venv/bin/python -m pytest"


# Examples that train (call fit) are slow: they run in the full test command, not the inner loop.
EXAMPLES = [
    pytest.param(block, id=f"block{i}", marks=[pytest.mark.slow] if "fit(" in block else [])
    for i, block in enumerate(PYTHON_BLOCKS)
]


@pytest.mark.parametrize("block", EXAMPLES)
def test_readme_example_prints_what_its_comments_say(block: str) -> None:
    printed: dict[int, str] = {}

    def recording_print(*args: Any) -> None:
        printed[sys._getframe(1).f_lineno] = " ".join(str(a) for a in args)

    exec(compile(block, str(README), "exec"), {"print": recording_print})
    for lineno, line in enumerate(block.splitlines(), start=1):
        expected = re.search(r"# -> (.*)$", line)
        if expected:
            assert printed.get(lineno) == expected.group(1).strip(), f"README line {line!r}"
    assert printed, "the example printed nothing"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))])
def test_readme_example_pastes_into_the_python_repl(block: str) -> None:
    # The REPL ends an indented block only at a blank line: code right after one is a syntax error there.
    lines = block.splitlines()
    for before, line in itertools.pairwise(lines):
        if line and not line[0].isspace() and before[:1].isspace():
            assert line.startswith(("except", "else", "elif", "finally")), f"a blank line before {line!r}"


def layout_paths(text: str) -> set[str]:
    """The files the "Project layout" block names: full paths, or names under the folder above them."""
    block = re.search(r"## Project layout\n.*?```\n(.*?)```", text, flags=re.DOTALL)
    assert block, "README has no Project layout block"
    named: set[str] = set()
    folder = ""
    for line in block.group(1).splitlines():
        words = re.findall(r"(?<![\w.])[\w/]+(?:\.py|/)(?![\w/])", line)
        if not line.startswith(" "):
            folder = words[0] if words and words[0].endswith("/") else ""
        for word in words:
            if word.endswith(".py"):
                named.add(word if "/" in word else folder + word)
    return named


def test_project_layout_names_every_module_and_only_those() -> None:
    root = README.parent
    modules = {
        path.relative_to(root).as_posix()
        for package in ("engine", "nn")
        for path in (root / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    named = layout_paths(TEXT)
    assert sorted(modules - named) == [], "modules the layout leaves out"
    assert sorted(named - modules) == [], "files the layout names that do not exist"


def test_the_layout_check_can_fail() -> None:
    text = "## Project layout\n\n```\nengine/value.py   x\nengine/draw/  y\n    dot.py gone.py  z\n```\n"
    assert layout_paths(text) == {"engine/value.py", "engine/draw/dot.py", "engine/draw/gone.py"}
