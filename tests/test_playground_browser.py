"""The playground in a real browser (chromium, driven by Playwright) against `python -m nn.playground`.

The page loads with no console errors and asks nothing of any host but its own; Play moves the step
counter and the loss, Pause stops them; the dataset and the layer count redraw the network; a
clicked training point shows its graph (and its step-through), a clicked neuron its panel; the URL
carries the settings through a reload. Screenshots of each view go to /tmp/playground-shots/.

Skipped where chromium or Playwright is absent (`apt-get install chromium`, `pip install playwright`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytest.importorskip("starlette", reason="the playground's web stack is missing: pip install .[playground]")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
if shutil.which("dot") is None:
    pytest.skip("graphviz's dot program is not installed (the point graph needs it)", allow_module_level=True)

from nn import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp/playground-shots")
TIMEOUT = 20_000  # ms: a generous bound on a shared machine; the page is usually far faster


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The real server, as a learner starts it, on a free port: its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nn.playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = next((word for word in line.split() if word.startswith("http://")), None)
    if url is None:
        process.kill()
        pytest.fail(f"the server did not start: {line}{process.communicate()[1]}")
    yield url
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Tab:
    """A page on the playground, with every console error and every request it made."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.url = url
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.on("page", self.watch)
        self.watch(self.page)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("websocket", lambda ws: self.requests.append(ws.url))

    def open(self, query: str = "") -> Any:
        self.page.goto(self.url + (f"?{query}" if query else ""))
        self.wait_for_snapshots(1)
        return self.page

    def snapshots(self) -> int:
        return int(self.page.evaluate("Number(document.body.dataset.snapshots)"))

    def wait_for_snapshots(self, count: int) -> None:
        self.page.wait_for_function(f"Number(document.body.dataset.snapshots) >= {count}")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def text(self, label: str) -> str:
        return str(self.page.get_by_label(label, exact=True).inner_text())


@pytest.fixture
def tab(server: str, browser: Any) -> Iterator[Tab]:
    tab = Tab(browser, server)
    yield tab
    host = urlsplit(server).netloc
    tab.context.close()
    assert tab.errors == []
    foreign = [
        u for u in tab.requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != host
    ]
    assert foreign == [], "requests left 127.0.0.1"
    assert any(u.startswith("ws://127.0.0.1:") for u in tab.requests)  # the live updates came over /ws


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


def wait_url(page: Any, pattern: str) -> None:
    """Wait until the URL matches (the page rewrites it with history.replaceState, not a navigation)."""
    page.wait_for_function("pattern => new RegExp(pattern).test(location.href)", arg=pattern)


def network_shape(page: Any) -> list[int]:
    """Neurons per layer as drawn (hidden layers, then the output)."""
    layers = page.evaluate(
        "[...document.querySelectorAll('#network .node[data-layer]')].map(n => +n.dataset.layer)"
    )
    return [layers.count(layer) for layer in range(max(layers) + 1)]


def test_the_page_loads_with_its_labelled_controls(tab: Tab) -> None:
    page = tab.open()
    for name in ("Play", "Step", "Reset", "Regenerate", "Export model", "Export settings"):
        assert button(page, name).is_visible()
    for label in (
        "Dataset",
        "Noise",
        "Training data %",
        "Batch size",
        "Learning rate",
        "Activation",
        "Regularization",
        "Regularization rate",
        "Initialization",
        "Optimizer",
        "Show test data",
        "Discretize output",
        "Show gradients",
    ):
        assert page.get_by_label(label, exact=True).count() == 1, label
    assert page.get_by_label("Dataset", exact=True).input_value() == "circles"
    assert page.get_by_label("Learning rate", exact=True).input_value() == "0.03"
    assert tab.text("Step") == "0"
    assert re.fullmatch(r"0\.\d{3}", tab.text("Train loss"))
    assert re.fullmatch(r"0\.\d{3}", tab.text("Test loss"))
    assert network_shape(page) == [4, 2, 1]
    assert page.locator("#network .node[data-feature]").count() == 7
    assert page.locator("#data-points .train circle").count() == 250
    assert "dataset=circles" in page.url and "hidden=4,2" in page.url
    assert page.locator("#hover-canvas").is_hidden()  # the output panel shows the output itself
    tab.shot("01-initial")


def test_play_moves_the_step_and_the_loss_and_pause_stops_them(tab: Tab) -> None:
    page = tab.open()
    loss = tab.text("Train loss")
    button(page, "Play").click()
    page.wait_for_function("Number(document.body.dataset.step) >= 250")  # ten epochs
    assert button(page, "Pause").is_visible()
    assert tab.text("Train loss") != loss
    button(page, "Pause").click()
    assert button(page, "Play").is_visible()
    page.wait_for_timeout(400)  # an update already under way may still land
    step = tab.text("Step")
    page.wait_for_timeout(600)
    assert tab.text("Step") == step
    assert int(step.replace(",", "")) >= 250
    assert float(tab.text("Epoch")) >= 10
    tab.shot("02-trained")
    button(page, "Step").click()
    page.wait_for_function(f"document.getElementById('step-count').textContent !== '{step}'")
    button(page, "Reset").click()
    page.wait_for_function("document.getElementById('step-count').textContent === '0'")


def test_the_dataset_and_the_layers_redraw_the_network(tab: Tab) -> None:
    page = tab.open()
    page.get_by_label("Dataset", exact=True).select_option("xor")
    wait_url(page, r"dataset=xor")
    button(page, "Add a hidden layer").click()
    wait_url(page, r"hidden=4,2,2\b")
    page.wait_for_function("document.querySelectorAll('#network .node[data-layer]').length === 9")
    assert network_shape(page) == [4, 2, 2, 1]
    assert page.locator("#layer-count").text_content() == "3 hidden layers"
    button(page, "Add a neuron to layer 0").click()
    wait_url(page, r"hidden=5,2,2\b")
    page.wait_for_function("document.querySelectorAll('#network .node[data-layer=\"0\"]').length === 5")
    page.locator("#network .node[data-feature=x1x2]").click()  # feed x₁x₂ in
    wait_url(page, r"features=x1,x2,x1x2\b")
    page.wait_for_function("document.querySelectorAll('#flow-bars .flow-bar').length === 4")
    tab.shot("03-xor-three-layers")
    for _ in range(3):
        button(page, "Remove a hidden layer").click()
        page.wait_for_timeout(100)
    wait_url(page, r"hidden=(&|$)")
    page.wait_for_function("document.querySelectorAll('#network .node[data-layer]').length === 1")
    assert page.locator("#layer-count").text_content() == "0 hidden layers"


def test_a_clicked_training_point_shows_its_graph_and_steps_through_it(tab: Tab) -> None:
    page = tab.open()
    button(page, "Step").click()
    tab.wait_for_snapshots(2)
    # a training point not hidden under another: what a learner could click
    index = page.evaluate(
        """() => { for (const c of document.querySelectorAll('#data-points .train circle')) {
             const r = c.getBoundingClientRect();
             const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
             if (top === c) return +c.dataset.index;
           } return -1; }"""
    )
    assert index >= 0
    page.locator(f"#data-points .train circle[data-index='{index}']").click()
    page.locator("#point-graph svg").wait_for()
    assert page.locator("#point-heading").text_content() == f"Training example #{index}"
    assert "values in its graph" in page.locator("#point-summary").inner_text()
    assert page.locator("#point-graph svg text").count() > 10
    page.locator("#point-panel").scroll_into_view_if_needed()
    tab.shot("04-point-graph")
    boxed = page.locator("#point-graph svg g.node").count()
    button(page, "Expand neurons").click()  # every op, where the boxes were
    page.wait_for_function("document.querySelector('#point-summary').innerText.includes('every op drawn')")
    assert page.locator("#point-graph svg g.node").count() > boxed
    tab.shot("04b-point-graph-expanded")
    button(page, "Collapse neurons").click()
    page.wait_for_function("document.querySelector('#point-summary').innerText.includes('boxed by neuron')")
    with tab.context.expect_page() as opened:
        button(page, "Step through backward").click()
    steps = opened.value
    steps.wait_for_function("document.querySelector('svg') !== null")
    assert steps.url.startswith("blob:")
    steps.screenshot(path=str(SHOTS / "05-step-through.png"))


def test_a_clicked_neuron_shows_its_panel_freezes_and_prunes(tab: Tab) -> None:
    page = tab.open()
    button(page, "Step").click()
    tab.wait_for_snapshots(2)
    page.get_by_role("button", name="Layer 0 neuron 1").click()
    page.wait_for_function("document.getElementById('neuron-summary').textContent.includes('mean |δ|')")
    assert (page.locator("#neuron-heading").text_content() or "").startswith("Layer 0 neuron 1")
    assert page.locator("#delta-scale").inner_text() != "–"
    page.locator("#neuron-panel").scroll_into_view_if_needed()
    tab.shot("06-neuron-panel")
    button(page, "Freeze").click()
    button(page, "Unfreeze").wait_for()
    assert "frozen" in (
        page.get_by_role("button", name="Layer 0 neuron 1 (frozen)").get_attribute("class") or ""
    )
    button(page, "Unfreeze").click()
    button(page, "Freeze").wait_for()
    button(page, "Prune").click()
    page.wait_for_function("document.querySelectorAll('#network .node[data-layer=\"0\"]').length === 3")
    assert network_shape(page) == [3, 2, 1]
    assert page.locator("#neuron-panel").is_hidden()


def test_a_dead_relu_is_marked(tab: Tab) -> None:
    # a ReLU net at a huge learning rate: some units die, and the page says which
    page = tab.open("activation=relu&lr=3&hidden=8,8&init=he")
    for _ in range(3):
        button(page, "Step").click()
        page.wait_for_timeout(150)
    page.wait_for_function(
        "document.querySelectorAll('#network .node-tag.dead').length > 0 || "
        "!document.getElementById('diverged').hidden"
    )
    tab.shot("07-relu-dead-units")


def test_the_views_gradients_discretize_and_no_test_data(tab: Tab) -> None:
    page = tab.open("dataset=spiral&hidden=8,8,6&noise=0.1")
    for _ in range(2):
        button(page, "Step").click()
    tab.wait_for_snapshots(3)
    page.get_by_label("Show gradients", exact=True).check()
    page.get_by_label("Discretize output", exact=True).check()
    page.get_by_label("Show test data", exact=True).uncheck()
    assert "gradients=1" in page.url and "discretize=1" in page.url and "show_test=0" in page.url
    assert "∂C/∂w" in page.locator("#edge-legend").inner_text()
    assert page.locator("#data-points .test").get_attribute("display") == "none"
    page.locator("#network .node[data-layer='1'][data-index='0']").hover()
    assert page.locator("#hover-label").inner_text() == "Layer 1 neuron 0"
    assert page.locator("#hover-canvas").is_visible()  # the neuron's picture, enlarged onto the output
    tab.shot("08-gradients-discretized-hover")
    page.mouse.move(5, 5)
    assert page.locator("#hover-canvas").is_hidden()


def test_divergence_pauses_with_the_advice(tab: Tab) -> None:
    page = tab.open("lr=10&activation=linear&hidden=8,8,8")
    button(page, "Play").click()
    page.get_by_role("alert").filter(has_text="diverged").wait_for()
    assert "Lower the learning rate" in page.locator("#diverged").inner_text()
    assert button(page, "Play").is_disabled()
    tab.shot("09-diverged")
    button(page, "Reset").click()
    page.wait_for_function("document.getElementById('diverged').hidden")


def test_the_url_carries_the_settings_through_a_reload(tab: Tab) -> None:
    page = tab.open("dataset=moons&hidden=3&lr=0.1&features=x1,x2,sinx1")
    assert page.get_by_label("Dataset", exact=True).input_value() == "moons"
    assert page.get_by_label("Learning rate", exact=True).input_value() == "0.1"
    assert network_shape(page) == [3, 1]
    button(page, "Step").click()
    page.wait_for_function("document.body.dataset.step !== '0'")
    page.reload()
    tab.wait_for_snapshots(1)
    assert page.get_by_label("Dataset", exact=True).input_value() == "moons"
    assert tab.text("Step") == "0"  # a new session, from the same settings
    assert network_shape(page) == [3, 1]
    assert "features=x1,x2,sinx1" in page.url


def test_a_bad_url_says_why_and_falls_back_to_the_defaults(tab: Tab) -> None:
    page = tab.open("lr=0.5")
    page.locator("#error").filter(has_text="lr must be one of").wait_for()
    wait_url(page, r"lr=0\.03")
    assert network_shape(page) == [4, 2, 1]


def test_export_saves_a_model_that_nn_load_reads(tab: Tab, tmp_path: Path) -> None:
    page = tab.open("hidden=3")
    button(page, "Step").click()
    tab.wait_for_snapshots(2)
    with page.expect_download() as saving:
        button(page, "Export model").click()
    download = saving.value
    assert download.suggested_filename == "model.json"
    path = tmp_path / "model.json"
    download.save_as(path)
    assert [len(layer.neurons) for layer in load(path).layers] == [3, 1]
    with page.expect_download() as saving:
        button(page, "Export settings").click()
    assert saving.value.suggested_filename == "settings.json"
