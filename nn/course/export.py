"""The notebooks as committed, written as static HTML pages that read offline.

One page per notebook (nbconvert's lab template, less its scripts from CDNs) and an index. Math in
markdown cells becomes MathML (latex2mathml), which browsers render natively; figures are embedded
in the pages; a link to another notebook points at its page; an output that was a live frame (the
playground) becomes a note saying how to start it. Nothing is executed and nothing is fetched.
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, tostring

import jinja2
import nbformat
from bs4 import BeautifulSoup
from latex2mathml.converter import convert_to_element
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from .._checks import show

__all__ = ["Site", "export", "find_notebooks", "markdown_to_html"]

GENERATOR = "backprop-lab nn.course export"  # marks a folder as an earlier export, safe to replace
CHECKOUT_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"  # in a source checkout
LIVE_NOTE = (
    '<p class="course-note">The live playground runs with <code>python -m nn.playground</code>; '
    "it trains in a local Python process, so this page cannot show it.</p>"
)
FRAME_NOTE = (
    '<p class="course-note">This output was a live page served while the notebook ran; '
    "run the notebook in Jupyter to see it.</p>"
)
# An unknown TeX command survives latex2mathml as text ("<mi>\foo</mi>"): that is a failure too.
_UNCONVERTED = re.compile(r">[^<]*\\[A-Za-z]")
_PRIMES = {"&#x02032;", "&#x02033;", "&#x02034;"}  # ′ ″ ‴, as latex2mathml writes them
_LIMITS = {"lim", "max", "min", "sup", "inf"}  # their subscript goes under them in display math

CSS = """
main { max-width: 1000px; margin: 0 auto; padding: 0 1rem 2rem; box-sizing: border-box; }
.jp-OutputArea-output img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
.jp-OutputArea-output svg { max-width: 100%; height: auto; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-InputArea-editor pre, .jp-OutputArea-output pre { overflow-x: auto; }  /* long lines scroll, not clip */
math { font-size: 1.1em; }
math[display="block"] { margin: 0.6em 0; overflow-x: auto; overflow-y: hidden; }
code.course-tex { color: #a33; }
.course-nav { display: flex; justify-content: space-between; gap: 1rem; padding: 0.8rem 0;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.course-nav a { color: #1a5fb4; text-decoration: none; }
.course-nav a:hover { text-decoration: underline; }
.course-note { padding: 0.6em 0.9em; background: #f3f6fa; border-left: 3px solid #1a5fb4; }
details.course-solution > summary { cursor: pointer; padding: 0.3em 0; color: #555;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; }
"""

INDEX_CSS = """
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #222; margin: 0; }
main { max-width: 760px; margin: 0 auto; padding: 2rem 1rem; }
ol { padding-left: 1.6em; }
li { margin: 0.5em 0; }
a { color: #1a5fb4; text-decoration: none; }
a:hover { text-decoration: underline; }
.file { color: #777; font-size: 0.85em; }
"""

# nbconvert's lab page without its <script>s from CDNs (require.js, MathJax, mermaid, widgets),
# with a navigation bar, and each collapsed cell (an exercise's solution) behind a <details>.
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<meta name="generator" content="{{ resources.course.generator }}">
<style type="text/css">{{ resources.course.css }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.course.nav }}
{%- endblock body_header -%}
{%- block input_group -%}
{%- if cell.metadata.get('jupyter', {}).get('source_hidden') -%}
{%- set what = 'solution' if 'solution' in cell.metadata.get('tags', []) else 'code' -%}
<details class="course-solution"><summary>Show the {{ what }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group -%}
{%- block body_footer -%}
{{ resources.course.nav }}
{{ super() }}
{%- endblock body_footer -%}
"""


@dataclass
class Site:
    """What export wrote: the index page, one page per notebook (in the course's order), and warnings."""

    index: Path
    pages: list[Path]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Notebook:
    path: Path
    node: Any
    title: str  # as HTML (a title may hold code or math)
    text: str  # as plain text, for <title>

    @property
    def page(self) -> str:
        return f"{self.path.stem}.html"


def tex_to_mathml(tex: str, display: bool, warnings: list[str]) -> str:
    """TeX as a <math> element; what latex2mathml cannot convert stays TeX in a <code>, with a warning."""
    try:
        math = convert_to_element(tex.strip(), display="block" if display else "inline")
        _tidy(math, display)
        mathml = html.unescape(tostring(math, encoding="unicode"))  # latex2mathml's texts are entities
    except Exception as err:  # latex2mathml raises its own errors, and IndexError and the like
        mathml, reason = "", f"{type(err).__name__} {err}".strip()
    else:
        reason = "an unknown command" if _UNCONVERTED.search(mathml) else ""
    if reason:
        warnings.append(f"math left as TeX ({reason}): {tex.strip()!r}")
        delimiter = "$$" if display else "$"
        return f'<code class="course-tex">{html.escape(delimiter + tex + delimiter)}</code>'
    return mathml


def _tidy(math: Element, display: bool) -> None:
    """latex2mathml's tree as TeX typesets it: f' with the prime beside f, not a superscript of a
    superscript; lim and max with their subscript under them in display math; a bare & escaped."""
    for parent in list(math.iter()):
        children: list[Element] = []
        for child in parent:
            if child.tag == "msup" and len(child) == 2 and child[1].tag == "mi" and child[1].text in _PRIMES:
                prime = Element("mo", {"lspace": "0", "rspace": "0"})
                prime.text = child[1].text
                children += [child[0], prime]
                continue
            if display and child.tag == "msub" and len(child) == 2 and child[0].text in _LIMITS:
                child.tag = "munder"
            if child.text == "&":
                child.text = "&#x26;"
            children.append(child)
        parent[:] = children


class _Renderer(IPythonRenderer):
    """nbconvert's markdown renderer with the math turned into MathML instead of left for MathJax."""

    def __init__(self, warnings: list[str], **options: Any) -> None:
        super().__init__(escape=False, **options)
        self.warnings = warnings

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, False, self.warnings)

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, True, self.warnings)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", True, self.warnings)


def markdown_to_html(source: str, warnings: list[str] | None = None, **options: Any) -> str:
    """A markdown cell's HTML, its $...$ and $$...$$ as MathML (code spans and blocks left as written)."""
    renderer = _Renderer([] if warnings is None else warnings, **options)
    return str(MarkdownWithMath(renderer=renderer).render(source))


def find_notebooks(notebooks: str | os.PathLike[str] | None = None) -> Path:
    """The folder of .ipynb files: `notebooks` if given, else ./notebooks, else the source checkout's."""
    if notebooks is not None:
        folder = Path(notebooks)
        if not folder.is_dir() or not any(folder.glob("*.ipynb")):
            raise ValueError(
                f"export: notebooks must be a folder holding .ipynb files, got {show(str(notebooks))}"
                + ("" if folder.is_dir() else " (no such folder)" if not folder.exists() else " (a file)")
            )
        return folder
    candidates = [Path.cwd() / "notebooks", CHECKOUT_NOTEBOOKS]
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            return folder
    raise ValueError(
        f"export: found no notebooks in {candidates[0]} or {candidates[1]} (an installed package does not "
        "hold them); pass the folder that does: --notebooks DIR, or export(out, notebooks=DIR)"
    )


def _read(path: Path, warnings: list[str]) -> _Notebook:
    node = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    first = next((cell for cell in node.cells if cell.cell_type == "markdown"), None)
    heading = re.match(r"#\s+(.+)", first.source.lstrip()) if first is not None else None
    if heading is None:
        return _Notebook(path, node, html.escape(path.stem), path.stem)
    title = markdown_to_html(heading.group(1), warnings).strip()
    title = re.sub(r"^<p>(.*)</p>$", r"\1", title, flags=re.DOTALL)
    return _Notebook(path, node, title, BeautifulSoup(title, "html.parser").get_text())


def _without_live_frames(node: Any) -> Any:
    """A copy of the notebook in which each output that is an <iframe> (a local server's page) is a note."""
    node = copy.deepcopy(node)
    for cell in node.cells:
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html", "")
            if re.search(r"<iframe\b", page, re.IGNORECASE):
                note = LIVE_NOTE if "playground" in cell.source else FRAME_NOTE
                output["data"] = {"text/html": note, "text/plain": re.sub(r"<[^>]+>", "", note)}
    return node


def _relink(page: str, names: set[str], warnings: list[str], where: str) -> str:
    """The page with its links to the course's notebooks (NAME.ipynb, notebooks/NAME.ipynb) made NAME.html."""
    soup = BeautifulSoup(page, "html.parser")
    for anchor in soup.find_all("a", href=True):
        parts = urlsplit(str(anchor["href"]))
        if parts.scheme or parts.netloc or not parts.path.endswith(".ipynb"):
            continue
        stem = PurePosixPath(parts.path).stem
        if stem in names:
            anchor["href"] = f"{stem}.html" + (f"#{parts.fragment}" if parts.fragment else "")
        else:
            warnings.append(f"{where}: a link to {parts.path!r}, which is not a notebook of the course")
    return str(soup)


def _nav(notebooks: list[_Notebook], i: int) -> str:
    def link(j: int, arrow: str) -> str:
        if not 0 <= j < len(notebooks):
            return "<span></span>"
        other = notebooks[j]
        text = f"{other.title} →" if arrow == "next" else f"← {other.title}"
        return f'<a class="course-{arrow}" href="{other.page}">{text}</a>'

    return (
        f'<nav class="course-nav">{link(i - 1, "previous")}'
        f'<a class="course-index" href="index.html">Contents</a>{link(i + 1, "next")}</nav>'
    )


def _index(notebooks: list[_Notebook]) -> str:
    items = "\n".join(
        f'<li><a href="{nb.page}">{nb.title}</a> <span class="file">{html.escape(nb.path.name)}</span></li>'
        for nb in notebooks
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="{GENERATOR}">
<title>backprop-lab: the course</title>
<style type="text/css">{INDEX_CSS}</style>
</head>
<body>
<main>
<h1>backprop-lab: the course</h1>
<p>The notebooks as committed, with their outputs, for reading without Jupyter. To run them, open the
repository's <code>notebooks/</code> in Jupyter.</p>
<ol>
{items}
</ol>
</main>
</body>
</html>
"""


def _pages(folder: Path, warnings: list[str]) -> Iterator[tuple[str, str]]:
    """(file name, HTML) for the index and each notebook's page."""
    notebooks = [_read(path, warnings) for path in sorted(folder.glob("*.ipynb"))]
    names = {nb.path.stem for nb in notebooks}

    def markdown2html(context: Any, source: str) -> str:
        cell = context.get("cell", {})
        return markdown_to_html(
            source, warnings, attachments=cell.get("attachments", {}), embed_images=True, path=str(folder)
        )

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        template_file="course.html.j2",
        extra_loaders=[jinja2.DictLoader({"course.html.j2": TEMPLATE})],
        filters={"markdown2html": jinja2.pass_context(markdown2html)},
    )
    yield "index.html", _index(notebooks)
    for i, nb in enumerate(notebooks):
        node = _without_live_frames(nb.node)
        node.metadata["title"] = nb.text
        resources = {
            "metadata": {"name": nb.path.stem, "path": str(folder)},
            "course": {"css": CSS, "nav": _nav(notebooks, i), "generator": GENERATOR},
        }
        page, _ = exporter.from_notebook_node(node, resources=resources)
        yield nb.page, _relink(page, names, warnings, nb.path.name)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"export: out must be a folder to write the site into, got {show(str(out))} (a file)"
        )
    if out.is_dir() and any(out.iterdir()):
        index = out / "index.html"
        earlier = index.is_file() and GENERATOR in index.read_text(encoding="utf-8", errors="replace")
        if not earlier:
            raise ValueError(
                f"export: out must be a new or empty folder, or an earlier export, got {show(str(out))} "
                "(a folder holding other files, which export would replace)"
            )
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"export: out must be a folder path, got {show(str(out))} ({parent} is a file)"
                )
            break


def export(out: str | os.PathLike[str], notebooks: str | os.PathLike[str] | None = None) -> Site:
    """Write out/index.html and out/NAME.html per notebook, all at once: a failure leaves out as it was."""
    out = Path(out)
    folder = find_notebooks(notebooks)
    _check_out(out)
    warnings: list[str] = []
    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.absolute().parent))
    except OSError as err:
        raise type(err)(f"export: cannot write into out={show(str(out))}: {err.strerror or err}") from err
    try:
        written = []
        for name, page in _pages(folder, warnings):
            (staging / name).write_text(page, encoding="utf-8")
            written.append(name)
        staging.chmod(0o755)  # mkdtemp's folder is private; the site is not
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Site(out / written[0], [out / name for name in written[1:]], warnings)


def _replace(staging: Path, out: Path) -> None:
    """Move the finished site to out; an earlier export there is moved aside first, and back on failure."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        staging.rename(out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.absolute().parent))
    aside.rmdir()
    out.rename(aside)
    try:
        staging.rename(out)
    except BaseException:
        aside.rename(out)
        raise
    shutil.rmtree(aside, ignore_errors=True)
