"""`python -m nn.course export OUT`: the course as static pages, offline, with math, figures and links.

The math conversion and the argument checks run on small inputs (fast); the whole course is exported
once for the rest (slow). tests/test_course_export_browser.py reads the pages in chromium.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbconvert", reason="the course extra is missing: pip install .[course]")
pytest.importorskip("latex2mathml", reason="the course extra is missing: pip install .[course]")

from bs4 import BeautifulSoup  # noqa: E402  # nbconvert's own dependency

import nn.course.export as course  # noqa: E402
from nn.course.__main__ import main  # noqa: E402
from nn.course.export import Site, export, markdown_to_html  # noqa: E402

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
# What would make a browser fetch something (tests/test_notebooks.py's check); a link the reader
# may click (<a href="https://...">) is not a fetch, so anchors are taken out before it is applied.
NETWORK = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|<link\b"""
    r"""|<iframe\b|<script[^>]*\bsrc\s*=|\bfetch\s*\(|XMLHttpRequest|\bimport\s*\(|WebSocket""",
    re.IGNORECASE,
)
ANCHOR = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
IMAGES = ("image/png", "image/svg+xml")


def loads(page: str) -> str | None:
    """The first thing in page that a browser would fetch, or None."""
    found = NETWORK.search(ANCHOR.sub("<a>", page))
    return found.group(0) if found else None


def rendered(source: str) -> tuple[str, list[str]]:
    warnings: list[str] = []
    return markdown_to_html(source, warnings), warnings


# -- the math ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "present"),
    [
        # underscores and asterisks inside math are TeX, not markdown's emphasis
        (
            r"so $\partial C/\partial w_{ij} = a_j \cdot \delta_i$ and $x_1 * y_1$",
            ["<msub><mi>w</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub>", "<mi>&#x003B4;</mi>"],
        ),
        (r"$a * b$ and $c * d$, then _emphasis_", ["<em>emphasis</em>", "&#x0002A;"]),
        (r"$$\sum_i x_i^2$$", ['display="block"', "<munder><mo>&#x02211;</mo><mi>i</mi></munder>"]),
        (r"$f'(x)$", ['<mi>f</mi><mo lspace="0" rspace="0">&#x02032;</mo>']),  # f′ beside f
        (r"$$\lim_{h \to 0} h$$", ["<munder><mo>lim</mo>"]),  # under lim in display
        (r"$\lim_{h \to 0} h$", ["<msub><mo>lim</mo>"]),  # beside it inline, as TeX does
        (r"$a < b$ and $c > d$", ["<mo>&#x0003C;</mo>", "<mo>&#x0003E;</mo>"]),
    ],
)
def test_math_becomes_mathml(source: str, present: list[str]) -> None:
    page, warnings = rendered(source)
    assert warnings == []
    for part in present:
        assert part in page, page
    prose = BeautifulSoup(page, "html.parser")
    for math in prose.find_all("math"):
        math.decompose()
    assert "$" not in prose.get_text() and "\\" not in prose.get_text()
    assert "<em>" not in page or "_emphasis_" in source


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ('the label `"$x_0$ (standardized)"` is code', '"$x_0$ (standardized)"'),
        ("```python\nplt.xlabel(r'$\\sigma$')\n```", "plt.xlabel(r'$\\sigma$')"),
        ("    print('$a_1$')", "print('$a_1$')"),  # an indented code block
    ],
)
def test_dollars_in_code_stay_as_written(source: str, kept: str) -> None:
    page, warnings = rendered(source)
    assert warnings == [] and "<math" not in page
    assert kept in BeautifulSoup(page, "html.parser").get_text()


@pytest.mark.parametrize("tex", [r"\notacommand{x}", r"\frac{1}{"])
def test_math_it_cannot_convert_stays_tex_with_a_warning(tex: str) -> None:
    page, warnings = rendered(f"before ${tex}$ after")
    assert "<math" not in page
    assert '<code class="course-tex">' in page and tex.replace("<", "&lt;") in page
    assert len(warnings) == 1 and tex in warnings[0]


# -- a small course, exported -----------------------------------------------------------------


def notebook(*cells: Any) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def code(source: str, *outputs: Any, **metadata: Any) -> Any:
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.outputs = list(outputs)
    return cell


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Two notebooks that link to each other, with math, a figure, a live frame and a solution."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    png = base64.b64encode(b"\x89PNG not really").decode()
    frame = '<iframe src="http://127.0.0.1:8000/" width="100%"></iframe>'
    first = notebook(
        nbformat.v4.new_markdown_cell(
            "# 01 · The `first` one\n\nSee [the second](02_second.ipynb), "
            "[its end](notebooks/02_second.ipynb#End), [elsewhere](https://example.com/x.ipynb) and "
            "[nothing](03_missing.ipynb); $\\partial C/\\partial w_{ij} = a_j \\cdot \\delta_i$."
        ),
        code("plot()", nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "fig"})),
        code("nn.playground.show()", nbformat.v4.new_output("execute_result", data={"text/html": frame})),
        code("# Solution to exercise 1\nanswer = 42", jupyter={"source_hidden": True}, tags=["solution"]),
    )
    second = notebook(
        nbformat.v4.new_markdown_cell("# 02 · Second\n\n## End\n\nBack to [one](01_first.ipynb).")
    )
    nbformat.write(first, folder / "01_first.ipynb")
    nbformat.write(second, folder / "02_second.ipynb")
    return folder


@pytest.fixture
def site(small: Path, tmp_path: Path) -> Site:
    return export(tmp_path / "site", notebooks=small)


def test_a_small_course_gets_an_index_and_a_page_per_notebook(site: Site) -> None:
    assert site.index.name == "index.html"
    assert [page.name for page in site.pages] == ["01_first.html", "02_second.html"]
    assert sorted(path.name for path in site.index.parent.iterdir()) == [
        "01_first.html",
        "02_second.html",
        "index.html",
    ]
    index = site.index.read_text(encoding="utf-8")
    assert re.findall(r'<li><a href="([^"]+)">(.*?)</a>', index) == [
        ("01_first.html", "01 · The <code>first</code> one"),
        ("02_second.html", "02 · Second"),
    ]
    assert "<title>01 · The first one</title>" in site.pages[0].read_text(encoding="utf-8")


def test_links_between_notebooks_point_at_the_pages(site: Site) -> None:
    page = site.pages[0].read_text(encoding="utf-8")
    prose = BeautifulSoup(page, "html.parser").select(".jp-RenderedMarkdown a[href]")
    assert [a["href"] for a in prose if "anchor-link" not in a.get("class", [])] == [
        "02_second.html",
        "02_second.html#End",
        "https://example.com/x.ipynb",  # another site's notebook is left alone
        "03_missing.ipynb",  # not in the course: left, and said
    ]
    assert site.warnings == [
        "01_first.ipynb: a link to '03_missing.ipynb', which is not a notebook of the course"
    ]
    assert 'href="01_first.html"' in site.pages[1].read_text(encoding="utf-8")


def test_the_page_holds_the_math_the_figure_a_note_for_the_frame_and_a_folded_solution(site: Site) -> None:
    page = site.pages[0].read_text(encoding="utf-8")
    assert loads(page) is None
    assert page.count("<math") == 1 and "$" not in page
    png = base64.b64encode(b"\x89PNG not really").decode()
    assert f'src="data:image/png;base64,{png}"' in page
    assert "<iframe" not in page and "127.0.0.1" not in page
    assert "The live playground runs with <code>python -m nn.playground</code>" in page
    solution = re.search(r'<details class="course-solution">.*?</details>', page, re.DOTALL)
    assert solution and "Solution to exercise 1" in solution.group(0)
    assert "<summary>Show the solution</summary>" in solution.group(0)
    assert 'href="index.html"' in page and 'href="02_second.html">02 · Second →' in page


def test_export_again_replaces_an_earlier_export(small: Path, site: Site) -> None:
    out = site.index.parent
    (out / "stale.html").write_text("from before", encoding="utf-8")
    again = export(out, notebooks=small)
    assert again.index == site.index and not (out / "stale.html").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["notebooks", "site"]  # no temporary folder left


@pytest.mark.slow  # exports three times
def test_a_failure_half_way_leaves_out_as_it_was(small: Path, tmp_path: Path, monkeypatch: Any) -> None:
    pages = 0

    def relink(*args: Any) -> str:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise RuntimeError("the disk is full")
        return str(args[0])

    monkeypatch.setattr(course, "_relink", relink)
    with pytest.raises(RuntimeError, match="the disk is full"):
        export(tmp_path / "site", notebooks=small)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks"]  # no site, no half site
    monkeypatch.undo()
    export(tmp_path / "site", notebooks=small)
    before = {p.name: p.read_bytes() for p in (tmp_path / "site").iterdir()}
    pages = 0
    monkeypatch.setattr(course, "_relink", relink)
    with pytest.raises(RuntimeError):
        export(tmp_path / "site", notebooks=small)
    assert {p.name: p.read_bytes() for p in (tmp_path / "site").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "site"]


# -- refusing bad arguments ---------------------------------------------------------------------


def test_out_must_be_a_folder_it_may_replace(small: Path, tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^export: out must be a folder .*, got '.*notes\.txt' \(a file\)$"):
        export(afile, notebooks=small)
    with pytest.raises(
        ValueError, match=r"^export: out must be a folder path, got .*notes\.txt is a file\)$"
    ):
        export(afile / "site", notebooks=small)
    with pytest.raises(ValueError, match=r"^export: out must be a new or empty folder, or an earlier export"):
        export(tmp_path, notebooks=small)  # holds notes.txt and the notebooks: not the site's to replace
    assert afile.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(empty, notebooks=small).index == empty / "index.html"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys, which nobody may write")
def test_an_unwritable_out_is_refused_by_name() -> None:
    with pytest.raises(OSError, match=r"^export: cannot write into out='/sys/bpl-course': "):
        export("/sys/bpl-course", notebooks=FOLDER)


def test_notebooks_must_be_a_folder_of_notebooks(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^export: notebooks must be a folder .*, got '.*nowhere' \(no such"
    ):
        export(tmp_path / "site", notebooks=tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"^export: notebooks must be a folder holding \.ipynb files, got"):
        export(tmp_path / "site", notebooks=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_without_notebooks_it_looks_in_dot_notebooks_then_the_checkout(
    small: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    assert course.find_notebooks() in (Path.cwd() / "notebooks", FOLDER)
    monkeypatch.chdir(small.parent)
    assert course.find_notebooks() == Path.cwd() / "notebooks"
    monkeypatch.chdir(small)
    monkeypatch.setattr(course, "CHECKOUT_NOTEBOOKS", tmp_path / "installed")
    with pytest.raises(
        ValueError, match=r"found no notebooks in .*; pass the folder that does: --notebooks DIR"
    ):
        course.find_notebooks()


def test_the_command_line_says_what_it_wrote_or_why_not(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path / "site"), "--notebooks", str(small)]) == 0
    out, err = capsys.readouterr()
    assert out == f"wrote 2 notebook pages and {tmp_path / 'site' / 'index.html'}\n"
    assert (
        err
        == "warning: 01_first.ipynb: a link to '03_missing.ipynb', which is not a notebook of the course\n"
    )
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert main(["export", str(tmp_path / "file"), "--notebooks", str(small)]) == 1
    assert capsys.readouterr().err.startswith("export: out must be a folder to write the site into, got")
    with pytest.raises(SystemExit) as exit:
        main(["export"])
    assert exit.value.code == 2 and "the following arguments are required: OUT" in capsys.readouterr().err


@pytest.mark.slow  # a new interpreter, which imports nbconvert
def test_python_dash_m_runs_it(small: Path, tmp_path: Path) -> None:
    import subprocess  # noqa: PLC0415

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nn.course",
            "export",
            str(tmp_path / "x" / "site"),
            "--notebooks",
            str(small),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "site" / "02_second.html").is_file()


# -- the course itself (slow) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def course_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return export(tmp_path_factory.mktemp("course") / "site", notebooks=FOLDER)


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


@pytest.mark.slow
def test_the_course_exports_every_notebook_in_order_with_its_title(course_site: Site) -> None:
    notebooks = sorted(FOLDER.glob("*.ipynb"))
    assert [page.stem for page in course_site.pages] == [path.stem for path in notebooks]
    assert course_site.warnings == []  # every formula converted, every notebook link resolved
    index = BeautifulSoup(course_site.index.read_text(encoding="utf-8"), "html.parser")
    titles = [a.get_text() for a in index.select("main ol a")]
    for title, path in zip(titles, notebooks):
        heading = read(path).cells[0].source.splitlines()[0].removeprefix("# ")
        assert title == heading.replace("`", ""), path.name


@pytest.mark.slow
def test_every_link_between_pages_resolves_and_nothing_is_fetched(course_site: Site) -> None:
    folder = course_site.index.parent
    for path in [course_site.index, *course_site.pages]:
        page = path.read_text(encoding="utf-8")
        assert loads(page) is None, f"{path.name} loads {loads(page)!r}"
        hrefs = [str(a["href"]) for a in BeautifulSoup(page, "html.parser").find_all("a", href=True)]
        local = [h.split("#")[0] for h in hrefs if not re.match(r"[a-z]+:|#", h)]
        assert local, path.name
        for href in local:
            assert (folder / href).is_file(), f"{path.name} links to {href}, which was not written"
        assert not any(h.endswith(".ipynb") for h in local), path.name


@pytest.mark.slow
def test_the_math_is_mathml_and_no_tex_is_left_in_the_prose(course_site: Site) -> None:
    for path in course_site.pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        prose = soup.select(".jp-RenderedMarkdown")
        assert len(soup.find_all("math")) > 0, path.name
        for cell in prose:
            for math in cell.find_all("math"):
                math.decompose()
            text = cell.get_text()
            assert not re.search(r"\$\\|\\partial|\$\$|[_^]\{", text), f"{path.name}: TeX left: {text[:200]}"


@pytest.mark.slow
def test_every_committed_figure_is_on_its_page(course_site: Site) -> None:
    for path in course_site.pages:
        page = path.read_text(encoding="utf-8")
        notebook = read(FOLDER / f"{path.stem}.ipynb")
        outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
        figures = [out for out in outputs if any(kind in out.get("data", {}) for kind in IMAGES)]
        for out in figures:
            if "image/png" in out.data:
                assert f"data:image/png;base64,{out.data['image/png'].strip()[:80]}" in page
            else:
                svg = base64.b64encode(out.data["image/svg+xml"].encode("utf-8")).decode()
                assert f"data:image/svg+xml;base64,{svg[:80]}" in page
        views = sum("bpl-steps" in out.get("data", {}).get("text/html", "") for out in outputs)
        assert page.count('<div class="bpl-steps"') == views


@pytest.mark.slow
def test_the_playground_frame_is_a_note(course_site: Site) -> None:
    frames = 0
    for path in course_site.pages:
        notebook = read(FOLDER / f"{path.stem}.ipynb")
        page = path.read_text(encoding="utf-8")
        committed = sum(
            "<iframe" in out.get("data", {}).get("text/html", "")
            for cell in notebook.cells
            if cell.cell_type == "code"
            for out in cell.outputs
        )
        frames += committed
        assert "<iframe" not in page
        assert page.count("The live playground runs with") == committed
    assert frames >= 1, "notebook 04 embeds the playground"
