"""nn.save and nn.load: JSON round trips, atomic saves, and bad files refused with nothing changed."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from nn.module import MLP, Layer, Module, Neuron
from nn.serialize import FORMAT, load, save

MODELS = {
    "mlp": lambda: MLP(2, [4, 3, 1], activation="tanh", seed=1),
    "mixed activations": lambda: MLP(
        3, [4, 4, 2], activation=["relu", "sigmoid"], output_activation="tanh", seed=2
    ),
    "layer": lambda: Layer(3, 2, activation="sigmoid", seed=3),
    "neuron": lambda: Neuron(5, nonlin=False, seed=4),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_round_trip_rebuilds_the_same_model_bit_for_bit(make: Any, tmp_path: Path) -> None:
    model = make()
    for p in model.parameters():  # values that a decimal printout would round
        p.data += 1e-17 + math.pi * 1e-9
    save(model, tmp_path / "model.json")
    loaded = load(tmp_path / "model.json")
    assert type(loaded) is type(model)
    assert loaded.config() == model.config()
    assert loaded.state_dict() == model.state_dict()  # exact: JSON keeps repr-exact floats
    x = [0.3, -0.2, 0.9, 0.1, 0.5][: _nin(model)]
    assert _numbers(loaded(x)) == _numbers(model(x))


def test_the_file_is_readable_json(tmp_path: Path) -> None:
    save(MLP(2, [1], seed=0), tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["format"] == FORMAT and document["version"] == 1
    assert document["model"]["type"] == "MLP"
    assert set(document["parameters"]) == {
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
    }


def test_load_into_an_existing_model(tmp_path: Path) -> None:
    source, target = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    save(source, tmp_path / "m.json")
    assert load(tmp_path / "m.json", model=target) is target
    assert target.state_dict() == source.state_dict()


def test_a_crash_mid_save_leaves_the_old_file_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    old = path.read_bytes()

    def crash(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save(MLP(2, [1], seed=1), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["m.json"]  # the temporary file was removed


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    old = path.read_bytes()

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(MLP(2, [1], seed=1), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["m.json"]


def test_a_diverged_model_is_not_saved(tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].b.data = math.inf
    with pytest.raises(
        ValueError, match=r"save: parameter layers.0.neurons.0.b is inf: the model has diverged"
    ):
        save(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_only_known_architectures_are_saved(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="save: can save a Neuron, Layer or MLP, got Module"):
        save(Module(), tmp_path / "m.json")


def _valid() -> dict[str, Any]:
    model = MLP(2, [2, 1], seed=0)
    return {"format": FORMAT, "version": 1, "model": model.config(), "parameters": model.state_dict()}


BAD_FILES = {
    "not json": ("{ this is not json", "is not a saved model .not valid JSON"),
    "binary": (b"\xff\xfe\x00garbage", "is not a saved model .not UTF-8 text"),
    "truncated": (json.dumps(_valid())[:-40], "not valid JSON"),
    "other json": (json.dumps([1, 2, 3]), "no 'backprop-lab model' format tag"),
    "future version": (
        json.dumps({**_valid(), "version": 2}),
        "has format version 2; this library reads version 1",
    ),
    "unknown type": (
        json.dumps({**_valid(), "model": {"type": "CNN"}}),
        "is damaged: its model or parameters",
    ),
    "no parameters": (json.dumps({**_valid(), "parameters": None}), "is damaged"),
    "bad architecture": (
        json.dumps({**_valid(), "model": {**_valid()["model"], "nin": "two"}}),
        "is damaged: MLP: nin must be a positive int",
    ),
    "missing key": (
        json.dumps({**_valid(), "model": {"type": "MLP"}}),
        "is damaged: its model section has no 'nin' entry",
    ),
    "missing parameter": (
        json.dumps({**_valid(), "parameters": dict(list(_valid()["parameters"].items())[1:])}),
        "is damaged: .* missing 'layers.0.neurons.0.w.0'",
    ),
    "extra parameter": (
        json.dumps({**_valid(), "parameters": {**_valid()["parameters"], "layers.9.b": 1.0}}),
        "unexpected 'layers.9.b'",
    ),
    "mistyped parameter": (
        json.dumps({**_valid(), "parameters": {**_valid()["parameters"], "layers.1.neurons.0.b": "0.1"}}),
        "entry 'layers.1.neurons.0.b' must be a number, got str",
    ),
    "nan parameter": (
        json.dumps({**_valid(), "parameters": {**_valid()["parameters"], "layers.1.neurons.0.b": math.nan}}),
        "must be a finite number, got nan",
    ),
}


@pytest.mark.parametrize(("content", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_and_the_model_is_unchanged(
    content: str | bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=f"load: {path}.*{message}"):
        load(path)
    model = MLP(2, [2, 1], seed=5)
    before = model.state_dict()
    with pytest.raises(ValueError, match=f"load: {path}"):
        load(path, model=model)
    assert model.state_dict() == before


def test_loading_into_a_model_of_another_shape_is_refused(tmp_path: Path) -> None:
    save(MLP(2, [3, 1], seed=0), tmp_path / "m.json")
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="holds a different architecture"):
        load(tmp_path / "m.json", model=model)
    assert model.state_dict() == before


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.json")


def _nin(model: Module) -> int:
    return int(model.config()["nin"])


def _numbers(out: Any) -> list[float]:
    return [o.data for o in out] if isinstance(out, list) else [out.data]
