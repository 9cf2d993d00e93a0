"""nn.playground.session: training, reset, every view's numbers and encoding, a point, a neuron, changes."""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import Value
from nn import binary_cross_entropy, load, predict, record
from nn.playground import Session, Settings
from nn.playground.settings import FEATURES, features

DIVERGES = Settings(lr=10, activation="linear", hidden=(8,) * 6, init="uniform")  # NaN within a few steps


def decode(b64: str) -> np.ndarray:
    """A heatmap's bytes back to values in [−1, 1]."""
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8).astype(np.float64) / 127.5 - 1.0


def plane(extent: float, size: int) -> np.ndarray:
    """The cell centres of the contract's grid: rows from the top (x₂ decreasing), columns left to right."""
    centres = [-extent + (k + 0.5) * 2 * extent / size for k in range(size)]
    return np.array([[x1, x2] for x2 in reversed(centres) for x1 in centres])


def bce(z: float, y: int) -> float:
    return math.log1p(math.exp(-z)) if y == 1 else math.log1p(math.exp(z))


# -- training ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "epochs", "steps"),
    [
        (Settings(), 1.0, 25),  # 250 training points, batches of 10
        (Settings(), 0.5, 13),  # ⌈12.5⌉
        (Settings(batch_size=30), 2.0, 17),  # ⌈500 / 30⌉
        (Settings(points=50, train_percent=10, batch_size=30), 1.0, 1),  # a batch is at most the 5 points
    ],
)
def test_train_takes_epochs_times_n_train_over_batch_size_steps(settings: Settings, epochs, steps) -> None:
    session = Session(settings)
    session.train(epochs)
    assert session.step == steps
    n_train = round(settings.points * settings.train_percent / 100)
    assert session.epoch == pytest.approx(steps * min(settings.batch_size, n_train) / n_train)


@pytest.mark.parametrize(("settings", "below"), [(Settings(), 0.72), (Settings(optimizer="adam"), 0.5)])
def test_the_train_loss_drops_on_circles_within_a_few_epochs(settings: Settings, below: float) -> None:
    session = Session(settings)
    start = session.snapshot()["train"]["loss"]
    for _ in range(5):
        session.train()
    losses = session.snapshot()["history"]["train_loss"]
    assert losses[0] == start > 0.75
    assert losses[-1] < below


def test_the_same_settings_give_the_same_snapshots() -> None:
    a, b = Session(Settings(noise=0.2, batch_size=7)), Session(Settings(noise=0.2, batch_size=7))
    for session in (a, b):
        session.train(1)
        session.train(0.3)
    assert json.dumps(a.snapshot()) == json.dumps(b.snapshot())
    assert json.dumps(a.data()) == json.dumps(b.data())


def test_reset_returns_to_the_same_weights_or_new_ones() -> None:
    session = Session(Settings())
    fresh = json.dumps(session.snapshot())
    session.train(2)
    session.reset()
    assert json.dumps(session.snapshot()) == fresh
    session.reset(new_weights=True)
    assert session.step == 0
    new = session.settings.init_seed
    assert new != 0
    assert session.snapshot()["layers"] != json.loads(fresh)["layers"]
    # The settings carry the new seed, so a shared link makes the same weights.
    assert Session(Settings(init_seed=new)).snapshot() == session.snapshot()


def test_a_diverging_session_records_fits_advice_and_never_raises() -> None:
    session = Session(DIVERGES)
    for _ in range(3):
        session.train(1)
    assert session.diverged is not None
    assert "Lower the learning rate" in session.diverged
    stopped = session.step
    session.train(1)  # trains no further until reset
    assert session.step == stopped
    snapshot = session.snapshot()
    assert snapshot["diverged"] == session.diverged
    json.dumps(snapshot, allow_nan=False)  # NaN and inf never appear
    session.reset()
    assert session.diverged is None and session.snapshot()["diverged"] is None


# -- snapshot and data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(hidden=(), features=("x1", "x2sq", "sinx1")),
        Settings(hidden=(8, 1, 3), activation="relu", dataset="xor"),
        Settings(activation="sigmoid", hidden=(2,), regularization="l1", reg_rate=0.01),
    ],
)
def test_snapshot_has_a_heatmap_per_neuron_and_input_and_a_weight_per_input(settings: Settings) -> None:
    session = Session(settings)
    before = session.snapshot()
    session.train(1)
    snapshot = session.snapshot()
    json.dumps(snapshot, allow_nan=False)
    assert snapshot["step"] == session.step and snapshot["epoch"] == pytest.approx(1.0)
    assert (
        snapshot["output"]["size"] == 64 and len(base64.b64decode(snapshot["output"]["heatmap"])) == 64 * 64
    )
    assert [i["name"] for i in snapshot["inputs"]] == list(settings.features)
    widths = [len(settings.features), *settings.hidden, 1]
    assert [len(layer["neurons"]) for layer in snapshot["layers"]] == widths[1:]
    assert len(snapshot["flow"]) == len(widths) - 1
    for k, layer in enumerate(snapshot["layers"]):
        assert layer["activation"] == (settings.activation if k < len(settings.hidden) else "linear")
        for neuron, first in zip(layer["neurons"], before["layers"][k]["neurons"]):
            assert len(base64.b64decode(neuron["heatmap"])) == 32 * 32
            assert len(neuron["weights"]) == len(neuron["grads"]) == widths[k]
            assert first["grads"] == [0.0] * widths[k] and first["bias_grad"] == 0.0  # before any step
            assert neuron["max_grad"] == max(abs(g) for g in [*neuron["grads"], neuron["bias_grad"]])
    for item in snapshot["inputs"]:
        assert len(base64.b64decode(item["heatmap"])) == 32 * 32
    assert before["flow"] == [0.0] * len(before["flow"])
    history = snapshot["history"]
    assert history["step"] == [0, session.step]  # the start, then one entry per train() call
    assert {len(values) for values in history.values()} == {2}
    assert history["train_loss"][-1] == snapshot["train"]["loss"]


def test_the_heatmaps_decode_to_the_models_outputs_on_the_grid() -> None:
    settings = Settings(features=("x1", "x2", "x1x2"), activation="sigmoid", hidden=(3, 2), noise=0.1)
    session = Session(settings)
    session.train(2)
    snapshot = session.snapshot()
    extent = snapshot["extent"]
    # Each byte is round((v + 1) / 2 · 255): within a step of 2/255 of the value (the extent is rounded).
    step = 2.0 / 255
    logits = predict(session.model, features(plane(extent, 64), settings.features))
    np.testing.assert_allclose(
        decode(snapshot["output"]["heatmap"]), 2 / (1 + np.exp(-logits)) - 1, atol=step
    )
    outputs = session.model.layer_outputs(features(plane(extent, 32), settings.features))
    for layer, out in zip(snapshot["layers"], outputs):
        for j, neuron in enumerate(layer["neurons"]):
            expected = 2 * out[:, j] - 1 if layer["activation"] == "sigmoid" else np.clip(out[:, j], -1, 1)
            np.testing.assert_allclose(decode(neuron["heatmap"]), expected, atol=step)
    x1x2 = features(plane(extent, 32), ["x1x2"])[:, 0]
    np.testing.assert_allclose(decode(snapshot["inputs"][2]["heatmap"]), x1x2 / np.abs(x1x2).max(), atol=step)


def test_data_gives_the_points_their_labels_and_the_extent() -> None:
    session = Session(Settings(points=200, train_percent=30, dataset="moons", noise=0.1))
    data = session.data()
    assert len(data["train"]["x"]) == len(data["train"]["y"]) == 60
    assert len(data["test"]["x"]) == len(data["test"]["y"]) == 140
    assert set(data["train"]["y"] + data["test"]["y"]) == {0, 1}
    biggest = max(abs(v) for split in ("train", "test") for point in data[split]["x"] for v in point)
    assert data["extent"] == pytest.approx(1.1 * biggest, rel=1e-5)
    assert data["extent"] == session.snapshot()["extent"]


def test_measured_losses_and_accuracies_are_the_splits_bce_and_accuracy() -> None:
    session = Session(Settings(noise=0.1))
    session.train(1)
    snapshot = session.snapshot()
    for split in ("train", "test"):
        points = session.data()[split]
        X = features(np.array(points["x"]), session.settings.features)
        logits = predict(session.model, X)
        loss = np.mean([bce(z, y) for z, y in zip(logits, points["y"])])
        assert snapshot[split]["loss"] == pytest.approx(loss, rel=1e-4)
        assert snapshot[split]["accuracy"] == pytest.approx(np.mean((logits > 0) == np.array(points["y"])))


@pytest.mark.slow
def test_history_keeps_at_most_1000_entries_thinning_the_oldest() -> None:
    session = Session(Settings(points=50, train_percent=50, batch_size=25))
    for _ in range(1100):
        session.train(1)  # one step each
    steps = session.snapshot()["history"]["step"]
    assert len(steps) <= 1000
    assert steps[-1] == 1100 and steps[-400:] == list(range(701, 1101))  # the recent curve is whole
    assert steps == sorted(steps) and steps[0] == 0


# -- one point -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "index"), [("train", 0), ("train", 249), ("test", 17)])
def test_point_draws_that_examples_loss_which_is_its_bce(split: str, index: int) -> None:
    session = Session(Settings(features=("x1", "x2", "sinx1")))
    session.train(1)
    grads = session.snapshot()["layers"]
    point = session.point(split, index)
    data = session.data()[split]
    assert point["split"] == split and point["index"] == index
    assert point["x"] == data["x"][index] and point["label"] == data["y"][index]
    inputs = features(np.array([point["x"]]), session.settings.features)
    z = float(predict(session.model, inputs)[0])
    assert point["loss"] == pytest.approx(bce(z, point["label"]), rel=1e-5)  # no regularization term
    assert point["svg"].startswith("<svg") and point["svg"].rstrip().endswith("</svg>")
    assert "x₁" in point["svg"] and "sin x₁" in point["svg"]  # the inputs named as the page names them
    assert point["nodes"] > 20
    assert session.snapshot()["layers"] == grads  # drawing backpropagates, but the step's grads stay


def test_point_expanded_draws_every_op_and_a_huge_graph_is_refused_saying_so() -> None:
    session = Session(Settings(hidden=(3,)))
    boxed, expanded = session.point("train", 5), session.point("train", 5, expanded=True)
    assert (boxed["expanded"], expanded["expanded"]) == (False, True)
    assert boxed["loss"] == expanded["loss"] and boxed["nodes"] == expanded["nodes"]
    assert expanded["svg"].count('class="node"') > boxed["svg"].count('class="node"')
    big = Session(Settings(hidden=(8,) * 6, features=tuple(FEATURES)))
    assert big.point("train", 0)["svg"].startswith("<svg")  # boxed by neuron, it can be drawn
    with pytest.raises(ValueError, match=r"^Session\.point: .*too large to draw op by op"):
        big.point("train", 0, expanded=True)


def test_point_steps_is_a_page_and_a_huge_graph_is_refused_saying_so() -> None:
    session = Session(Settings(hidden=(2,)))
    session.train(1)  # the parameters hold the step's gradients: the example's backward starts from 0
    page = session.point_steps("train", 3)
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "gradient from an earlier pass" not in page
    big = Session(Settings(hidden=(8,) * 6, features=tuple(FEATURES)))
    with pytest.raises(ValueError, match=r"^Session\.point_steps: .*too large"):
        big.point_steps("train", 0)


# -- one neuron ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("layer", "index"), [(0, 0), (0, 3), (1, 1)])
def test_neuron_delta_at_the_points_is_each_examples_dC_dz(layer: int, index: int) -> None:
    session = Session(Settings(noise=0.1))
    session.train(1)
    detail = session.neuron(layer, index)
    assert (detail["layer"], detail["index"], detail["activation"]) == (layer, index, "tanh")
    # One max |g| per train() call: the step's, as the snapshot shows it.
    assert detail["max_grad_history"] == [session.snapshot()["layers"][layer]["neurons"][index]["max_grad"]]
    model, data = session.model, session.data()["train"]
    neuron = model.layers[layer].neurons[index]
    X = features(np.array(data["x"]), session.settings.features)
    for k in (0, 7, 100):  # one scalar graph per example: its own BCE, backward, z.grad
        with record(model):
            binary_cross_entropy(model([Value(float(v)) for v in X[k]]), [data["y"][k]]).backward()
        assert detail["delta_points"]["train"][k] == pytest.approx(neuron.zs[0].grad, rel=1e-5, abs=1e-12)
    assert len(detail["delta_points"]["train"]) == len(data["y"])


def test_neuron_delta_over_the_plane_is_dyhat_dz_scaled_to_one() -> None:
    session = Session(Settings(noise=0.1, hidden=(3,)))
    session.train(1)
    detail = session.neuron(0, 2)
    scale = detail["delta"]["scale"]
    values = decode(detail["delta"]["heatmap"]) * scale
    grid = features(plane(session.snapshot()["extent"], 32), session.settings.features)
    model = session.model
    for k in (0, 333, 1023):
        with record(model):
            model([Value(float(v)) for v in grid[k]]).backward()
        assert values[k] == pytest.approx(model.layers[0].neurons[2].zs[0].grad, abs=scale / 127)
    assert np.abs(decode(detail["delta"]["heatmap"])).max() == 1.0  # the largest |δ| spans the picture
    output = session.neuron(1, 0)  # ŷ = z for the output neuron: 1 everywhere
    assert output["delta"]["scale"] == 1.0 and set(decode(output["delta"]["heatmap"])) == {1.0}


def test_freeze_stops_that_neurons_parameters_and_unfreeze_resumes_them() -> None:
    session = Session(Settings())
    session.freeze(0, 1, True)
    before = session.snapshot()["layers"]
    session.train(1)
    after = session.snapshot()["layers"]
    assert (
        after[0]["neurons"][1]["frozen"]
        and after[0]["neurons"][1]["weights"] == before[0]["neurons"][1]["weights"]
    )
    assert after[0]["neurons"][1]["bias"] == before[0]["neurons"][1]["bias"]
    assert after[0]["neurons"][0]["weights"] != before[0]["neurons"][0]["weights"]
    assert session.neuron(0, 1)["frozen"] and session.neuron(0, 1)["delta"]["scale"] > 0  # δ still shown
    session.freeze(0, 1, False)
    session.train(1)
    assert session.snapshot()["layers"][0]["neurons"][1]["weights"] != after[0]["neurons"][1]["weights"]


def test_freezing_the_last_training_neuron_is_refused() -> None:
    session = Session(Settings(hidden=()))
    with pytest.raises(ValueError, match=r"^Session\.freeze: neuron 0 of layer 0 is the last one training"):
        session.freeze(0, 0, True)


def test_pruning_a_dead_neuron_leaves_the_predictions_and_shrinks_the_layer() -> None:
    session = Session(Settings(activation="relu", hidden=(4, 3)))
    session.train(1)
    dead = session.model.layers[0].neurons[2]  # made dead: z = −100 on every point
    dead.b.data = -100.0
    for w in dead.w:
        w.data = 0.0
    snapshot = session.snapshot()
    assert [n["dead"] for n in snapshot["layers"][0]["neurons"]] == [False, False, True, False]
    session.freeze(1, 2, True)
    session.prune(0, 2)
    after = session.snapshot()
    assert [len(layer["neurons"]) for layer in after["layers"]] == [3, 3, 1]
    assert after["output"] == snapshot["output"] and after["train"] == snapshot["train"]
    assert [n["heatmap"] for n in after["layers"][1]["neurons"]] == [
        n["heatmap"] for n in snapshot["layers"][1]["neurons"]
    ]
    assert [n["frozen"] for n in after["layers"][1]["neurons"]] == [False, False, True]  # kept frozen
    session.train(1)  # and it trains on
    assert session.step == 50


@pytest.mark.parametrize(
    ("settings", "layer", "index", "message"),
    [
        (Settings(hidden=(1, 2)), 0, 0, "Session.prune: neuron 0 is the last of layer 0"),
        (Settings(hidden=(2,)), 1, 0, "Session.prune: layer 1 is the output layer"),
        (Settings(hidden=()), 0, 0, "Session.prune: layer 0 is the output layer"),
    ],
)
def test_prune_refuses_a_layers_last_neuron_and_the_output(settings, layer, index, message) -> None:
    with pytest.raises(ValueError, match="^" + message):
        Session(settings).prune(layer, index)


# -- exports -------------------------------------------------------------------------------------------------


def test_exports_load_back_with_the_same_predictions_and_settings(tmp_path: Path) -> None:
    settings = Settings(hidden=(3, 3), features=("x1", "x2", "x2sq"), activation="relu")
    session = Session(settings)
    session.train(1)
    path = tmp_path / "model.json"
    path.write_text(session.export_model(), encoding="utf-8")
    X = features(np.array(session.data()["test"]["x"]), settings.features)
    assert np.array_equal(predict(load(path), X), predict(session.model, X))
    assert Settings.from_json(session.export_settings()) == settings


def test_exporting_a_diverged_model_is_refused_saying_why() -> None:
    session = Session(DIVERGES)
    for p in session.model.parameters()[:1]:
        p.data = math.nan
    with pytest.raises(ValueError, match=r"^Session\.export_model: .*diverged"):
        session.export_model()


# -- bad arguments -------------------------------------------------------------------------------------

BAD_CALLS = [
    ("train", lambda s: s.train(0), "Session.train: epochs", "0"),
    ("train_nan", lambda s: s.train(math.nan), "Session.train: epochs", "nan"),
    ("point_split", lambda s: s.point("val", 0), "Session.point: split", "'val'"),
    ("point_index", lambda s: s.point("train", 250), "Session.point: index", "250"),
    ("point_negative", lambda s: s.point("test", -1), "Session.point: index", "-1"),
    ("point_str", lambda s: s.point("test", "3"), "Session.point: index", "'3'"),
    ("steps_split", lambda s: s.point_steps("all", 0), "Session.point_steps: split", "'all'"),
    ("neuron_layer", lambda s: s.neuron(3, 0), "Session.neuron: layer", "3"),
    ("neuron_index", lambda s: s.neuron(1, 2), "Session.neuron: index", "2"),
    ("freeze_index", lambda s: s.freeze(0, 4, True), "Session.freeze: index", "4"),
    ("freeze_flag", lambda s: s.freeze(0, 0, 1), "Session.freeze: frozen", "1"),
    ("prune_layer", lambda s: s.prune(-1, 0), "Session.prune: layer", "-1"),
]


@pytest.mark.parametrize(("name", "call", "start", "value"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_arguments_are_refused_naming_the_method_the_argument_and_the_value(
    name, call, start, value
) -> None:
    session = Session(Settings())
    with pytest.raises(ValueError) as err:
        call(session)
    assert str(err.value).startswith(start)
    assert f"got {value}" in str(err.value)
    assert session.step == 0


def test_importing_the_playground_does_not_import_the_web_stack() -> None:
    code = "import sys, nn, nn.playground; print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
