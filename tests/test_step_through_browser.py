"""The step-through page in a real browser (chromium): it loads nothing, raises nothing, and steps.

Skipped where chromium or Playwright is absent (`apt-get install chromium`, `pip install playwright`);
CI installs both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Value
from engine.draw import step_through

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
if shutil.which("dot") is None:
    pytest.skip("graphviz's dot program is not installed", allow_module_level=True)


def neuron() -> Value:
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b), with hostile text in one label."""
    x1, x2 = Value(2.0, label="x1", requires_grad=False), Value(0.0, label="x2", requires_grad=False)
    w1, w2 = Value(-3.0, label="w1 <b>&\x00</b>"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("page") / "steps.html"
    path.write_text(step_through(neuron()).page(), encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        tab = browser.new_page(viewport={"width": 1200, "height": 700})
        errors: list[str] = []
        requests: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto(path.as_uri())
        tab.wait_for_load_state("load")
        yield tab, errors, requests, path
        browser.close()


def caption(tab: Any) -> str:
    return str(
        tab.evaluate(
            "[...document.querySelectorAll('.bpl-frame')].filter(c => !c.hidden)"
            ".map(c => c.innerText).join(' ')"
        )
    )


def test_the_page_loads_only_itself_and_raises_nothing(page: Any) -> None:
    tab, errors, requests, path = page
    assert requests == [path.as_uri()]
    assert errors == []
    assert tab.locator("svg").count() == 1  # one drawing, repainted per step


def test_next_and_the_slider_step_through_backward(page: Any, tmp_path: Path) -> None:
    tab, errors, _, _ = page
    count = tab.locator("[data-bpl=count]")
    last = int(tab.locator("[data-bpl=slider]").get_attribute("max"))
    assert count.inner_text() == "the seed"
    first = caption(tab)
    assert "the seed" in first
    tab.get_by_role("button", name="next").click()
    assert count.inner_text() == f"step 1 of {last - 1}"
    assert "tanh" in caption(tab) and caption(tab) != first
    tab.locator("[data-bpl=slider]").fill(str(last))
    assert count.inner_text() == "done"
    assert "done" in caption(tab)
    tab.get_by_role("button", name="previous").click()
    assert count.inner_text() == f"step {last - 1} of {last - 1}"
    tab.screenshot(path=str(tmp_path / "step.png"), full_page=True)
    assert errors == []
