"""The exported course in a real browser (chromium, driven by Playwright), offline, from file://.

Every request that is not a file:// URL is refused and recorded: the index, a link followed to a
notebook, and every notebook page must ask for nothing else. On each page the math (MathML) is
drawn with a size, every image has loaded, no figure is wider than the 1000 px viewport, and the
step-through views still step. Screenshots go to /tmp/export-shots/.

Skipped where chromium or Playwright is absent (`apt-get install chromium`, `pip install playwright`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytest.importorskip("nbconvert", reason="the course extra is missing: pip install .[course]")
pytest.importorskip("latex2mathml", reason="the course extra is missing: pip install .[course]")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from nn.course.export import Site, export  # noqa: E402

pytestmark = pytest.mark.slow  # exports the whole course, then reads each page in a browser
FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
SHOTS = Path("/tmp/export-shots")
WIDTH = 1000  # px: the viewport; no figure may be wider
TIMEOUT = 20_000  # ms: generous on a shared machine

# What a page shows, measured in the page: math elements and their sizes, images and their loading,
# the widest figure, and whether the page scrolls sideways.
MEASURE = """() => {
  const visible = el => !el.closest('details:not([open])');
  const math = [...document.querySelectorAll('math')].filter(visible);
  const sizes = math.map(m => m.getBoundingClientRect()).map(r => [r.width, r.height]);
  const images = [...document.querySelectorAll('img')].filter(visible);
  const figures = [...document.querySelectorAll('.jp-OutputArea-output img, .jp-OutputArea-output svg')]
    .filter(visible).filter(el => el.getClientRects().length > 0);
  return {
    math: math.length,
    flat_math: sizes.filter(([w, h]) => !(w > 0 && h > 0)).length,
    tex_left: [...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText)
      .filter(t => /\\$\\\\[a-z]/.test(t)).length,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60)),
    figures: figures.length,
    widest: Math.max(0, ...figures.map(el => el.getBoundingClientRect().right)),
    clipped: [...document.querySelectorAll('pre')].filter(visible)
      .filter(el => el.scrollWidth > el.clientWidth && !/auto|scroll/.test(getComputedStyle(el).overflowX))
      .map(el => el.innerText.slice(0, 60)),
    page_width: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  };
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return export(tmp_path_factory.mktemp("course") / "site", notebooks=FOLDER)


class Browser:
    """One offline browser context: every request that is not file:// is aborted and kept."""

    def __init__(self, chromium: Any) -> None:
        self.context = chromium.new_context(viewport={"width": WIDTH, "height": 900})
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.context.set_offline(True)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def open(self, url: str) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(url)
        page.wait_for_load_state("load")
        return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield Browser(chromium)
        chromium.close()


def shoot(page: Any, selector: str, name: str) -> None:
    """A screenshot of the viewport with the first element matching selector at its top."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.evaluate(f"document.querySelector({selector!r}).scrollIntoView({{block: 'start'}})")
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_index_lists_the_notebooks_and_its_links_lead_to_them(site: Site, browser: Browser) -> None:
    page = browser.open(site.index.as_uri())
    page.screenshot(path=str(SHOTS / "index.png"))
    links = page.locator("main ol a")
    assert links.count() == len(site.pages)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [path.name for path in site.pages]
    links.nth(1).click()
    page.wait_for_load_state("load")
    assert page.url == site.pages[1].as_uri()
    # and from that notebook, a link in its prose to the one before it
    page.locator(f'.jp-RenderedMarkdown a[href="{site.pages[0].name}"]').first.click()
    page.wait_for_load_state("load")
    assert page.url == site.pages[0].as_uri()
    page.close()
    assert browser.refused == []
    assert all(url.startswith(("file://", "data:")) for url in browser.requests), browser.requests


def test_each_page_draws_its_math_and_figures_inside_the_page_offline(site: Site, browser: Browser) -> None:
    for path in site.pages:
        page = browser.open(path.as_uri())
        seen = page.evaluate(MEASURE)
        name = path.stem
        assert seen["math"] > 0 and seen["flat_math"] == 0, f"{name}: {seen}"
        assert seen["tex_left"] == 0, f"{name}: TeX left in the prose"
        assert seen["images"] > 0 and seen["broken"] == [], f"{name}: {seen['broken']}"
        assert seen["widest"] <= seen["viewport"], f"{name}: a figure {seen['widest']} px wide"
        assert seen["page_width"] <= seen["viewport"], f"{name}: the page scrolls sideways"
        assert seen["clipped"] == [], f"{name}: lines cut off at the right"
        display = page.locator("math[display=block]").count() > 0  # not every notebook has a display formula
        shoot(page, "math[display=block]" if display else "math", f"{name}-math")
        shoot(page, ".jp-OutputArea-output img", f"{name}-figure")
        page.close()
    assert browser.refused == [], browser.refused
    assert all(url.startswith(("file://", "data:")) for url in browser.requests)
    assert browser.errors == []


def test_the_step_through_view_steps_and_the_playground_is_a_note(site: Site, browser: Browser) -> None:
    page = browser.open((site.index.parent / "02_value_and_backprop.html").as_uri())
    view = page.locator(".bpl-steps").first
    shoot(page, ".bpl-steps", "02-step-through")
    before = view.locator(".bpl-frame:not([hidden])").inner_text()
    view.get_by_role("button", name="next").click()
    assert view.locator(".bpl-frame:not([hidden])").inner_text() != before
    width = page.evaluate("document.querySelector('.bpl-steps svg').getBoundingClientRect().right")
    assert 0 < width <= WIDTH
    page.close()
    page = browser.open((site.index.parent / "04_training_an_mlp.html").as_uri())
    assert page.locator("iframe").count() == 0
    note = page.locator(".course-note")
    assert "python -m nn.playground" in note.inner_text()
    shoot(page, ".course-note", "04-playground-note")
    page.close()
    assert browser.refused == [] and browser.errors == []
