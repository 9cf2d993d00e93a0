"""The notebooks as committed: executed, small, and exported to HTML with every figure, offline.

nbmake runs each notebook top to bottom under pytest (see pyproject's addopts); these tests check
what a reader sees without running anything: the committed outputs, and the static HTML page
that nbconvert makes of them.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")
pytestmark = pytest.mark.slow  # reads and exports every notebook

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
COURSE = [
    "01_derivatives",
    "02_value_and_backprop",
    "03_neuron_and_the_demon",
    "04_training_an_mlp",
    "05_vanishing_exploding_and_init",
    "06_dead_neurons_and_lottery_tickets",
    "07_freezing_converged_neurons",
    "08_from_scalars_to_pytorch",
    "09_real_data_digits",
    "10_vanishing_gradients_on_digits",
]
MAX_BYTES = 500_000  # per notebook: outputs no larger than they need to be
IMAGES = ("image/png", "image/svg+xml")
STEP_THROUGH = re.compile(r'<div class="bpl-steps".*?</script>', re.DOTALL)
# What would make a browser fetch something: the SVG namespaces (xmlns) are names, not fetches.
NETWORK = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|<link\b"""
    r"""|<iframe\b|<script[^>]*\bsrc\s*=|\bfetch\s*\(|XMLHttpRequest|\bimport\s*\(|WebSocket""",
    re.IGNORECASE,
)


def ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def outputs(notebook: Any) -> list[Any]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def test_the_course_is_all_there() -> None:
    assert [path.stem for path in NOTEBOOKS] == COURSE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_committed_executed_in_order_without_errors_and_small(path: Path) -> None:
    notebook = read(path)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "a title and prose first"
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run top to bottom"
    errors = [out for out in outputs(notebook) if out.output_type == "error"]
    assert not errors, f"an error is committed: {errors[0].ename}: {errors[0].evalue}"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size:,} bytes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_html_export_holds_every_figure(path: Path) -> None:
    notebook = read(path)
    figures = [out for out in outputs(notebook) if any(kind in out.get("data", {}) for kind in IMAGES)]
    assert figures, f"{path.name} shows no figure"
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    png = sum("image/png" in out.data for out in figures)
    svg = sum("image/svg+xml" in out.data and "image/png" not in out.data for out in figures)
    assert html.count('src="data:image/png;base64,') == png
    assert html.count('src="data:image/svg+xml;base64,') == svg  # graphviz drawings, embedded
    for out in figures:  # the very images, not placeholders
        if "image/png" in out.data:
            assert out.data["image/png"].strip()[:60] in html
        else:
            svg_text = out.data["image/svg+xml"]
            assert base64.b64encode(svg_text.encode("utf-8"))[:60].decode() in html


def test_step_through_views_load_nothing_from_the_network() -> None:
    views = 0
    for path in NOTEBOOKS:
        html, _ = nbconvert.HTMLExporter().from_notebook_node(read(path))
        for view in STEP_THROUGH.findall(html):
            views += 1
            assert view.count('class="bpl-frame"') >= 2 and "<svg" in view, f"{path.name}: no frames"
            found = NETWORK.search(view)
            assert found is None, f"{path.name}: a step-through view loads {found.group(0)!r}"
    assert views > 0, "no notebook shows a step-through view"


def test_the_network_check_can_fail() -> None:
    for bad in (
        '<img src="https://example.com/a.png">',
        "<script src='//cdn.example.com/x.js'></script>",
        "<style>@import 'x.css'</style>",
        "fetch('/data')",
        '<link rel="stylesheet" href="x.css">',
    ):
        assert NETWORK.search(bad), bad
    assert NETWORK.search('<svg xmlns="http://www.w3.org/2000/svg"><g id="a"/></svg>') is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_set_up_trusts_the_notebooks_so_they_open_with_their_figures(path: Path) -> None:
    # Jupyter hides the SVG drawings and the step-through views of a notebook it does not trust;
    # README's set-up command signs them (jupyter trust), so a learner sees them as committed.
    notary = pytest.importorskip("nbformat.sign").NotebookNotary()
    assert notary.check_signature(read(path)), (
        f"{path.name} would open 'Not Trusted': run README's set-up, or .venv/bin/jupyter trust {path}"
    )


def test_set_up_command_trusts_the_notebooks() -> None:
    readme = (FOLDER.parent / "README.md").read_text(encoding="utf-8")
    setup = next(line for line in readme.splitlines() if "pip install" in line)
    assert "jupyter trust notebooks/*.ipynb" in setup


def test_readme_links_each_notebook_with_what_it_teaches() -> None:
    readme = (FOLDER.parent / "README.md").read_text(encoding="utf-8")
    for name in COURSE:
        row = re.search(rf"^\| \[[^\]]+\]\(notebooks/{name}\.ipynb\) \| (.+) \|$", readme, re.MULTILINE)
        assert row and len(row.group(1)) > 40, f"README has no line for {name}"
