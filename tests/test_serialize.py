"""nn.save and nn.load: JSON round trips, atomic saves, and bad files refused with nothing changed."""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import signal
import stat
import time
from pathlib import Path
from typing import Any

import numpy as np
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


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_gives_it(umask: int, tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        save(MLP(2, [1], seed=0), tmp_path / "m.json")
        (tmp_path / "plain.txt").write_text("")
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "m.json").st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664, 0o444])
def test_a_save_keeps_the_files_permissions(mode: int, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    os.chmod(path, mode)
    save(MLP(2, [1], seed=1), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert load(path).state_dict() == MLP(2, [1], seed=1).state_dict()


@pytest.mark.parametrize("exists", [True, False])
def test_a_save_writes_through_a_symlink(exists: bool, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    real, link = tmp_path / "models" / "real.json", tmp_path / "link.json"
    if exists:
        save(MLP(2, [1], seed=0), real)
    link.symlink_to(real)
    save(MLP(2, [1], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load(real).state_dict() == MLP(2, [1], seed=1).state_dict()
    assert sorted(os.listdir(tmp_path / "models")) == ["real.json"]
    assert sorted(os.listdir(tmp_path)) == ["link.json", "models"]


@pytest.mark.parametrize(
    ("where", "error"),
    [
        (lambda tmp: tmp / "no such folder" / "m.json", FileNotFoundError),
        (lambda tmp: tmp, IsADirectoryError),  # the target is a folder
    ],
)
def test_a_failed_save_names_the_target_not_the_temporary_file(
    where: Any, error: type[OSError], tmp_path: Path
) -> None:
    path = where(tmp_path)
    with pytest.raises(error) as err:
        save(MLP(2, [1], seed=0), path)
    assert err.value.filename == str(path)
    assert str(err.value).startswith(f"[Errno {err.value.errno}] save: ")
    assert str(err.value).endswith(f": {str(path)!r}") and ".tmp" not in str(err.value)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_a_save_removes_the_temporary_files_of_killed_saves_only(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")  # POSIX: a save in progress holds a lock on its file
    path = tmp_path / "m.json"
    abandoned = [".m.json.abcd1234.tmp", ".m.json.k3_9zq0x.tmp"]  # as saves name them (mkstemp's too)
    others = [".other.json.abcd1234.tmp", "m.json.abcd1234.tmp", ".m.json.notmine.tmp", "m.json.tmp"]
    for name in [*abandoned, *others, ".m.json.live0000.tmp"]:
        (tmp_path / name).write_text("{")
    with open(tmp_path / ".m.json.live0000.tmp") as in_progress:
        fcntl.flock(in_progress, fcntl.LOCK_EX)  # a save another process or thread is writing
        save(MLP(2, [1], seed=0), path)
        assert sorted(os.listdir(tmp_path)) == sorted(["m.json", ".m.json.live0000.tmp", *others])
    save(MLP(2, [1], seed=0), path)  # its writer gone (the lock released): abandoned too
    assert sorted(os.listdir(tmp_path)) == sorted(["m.json", *others])


def _save_forever(path: Path) -> None:
    """Save models 1, 2, 3... (every parameter k in model k) to path until killed."""
    model = MLP(2, [64, 64, 1], seed=0)  # 4,417 parameters: about 100 kB of JSON per save
    for k in itertools.count(1):
        for p in model.parameters():
            p.data = float(k)
        save(model, path)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kill -9 of a forked saver: POSIX")
def test_kill_9_at_any_moment_leaves_a_whole_model_and_the_next_save_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model = MLP(2, [64, 64, 1], seed=0)
    for p in model.parameters():
        p.data = 0.0
    save(model, path)
    rng = random.Random(0)
    deadline = time.monotonic() + 20.0
    left_behind = 0  # kills that left a temporary file: the cleanup below has something to do
    for kill in range(20):  # bounded in count and in time
        pid = os.fork()
        if pid == 0:  # the saver: a child process that never returns into the tests
            try:
                _save_forever(path)
            finally:
                os._exit(1)
        if kill % 2:
            time.sleep(rng.uniform(0.0, 0.1))  # a few saves in, at a random moment of one
        else:  # mid-write: as soon as a save's temporary file appears, at a random moment after
            _wait_for(lambda: any(name.endswith(".tmp") for name in os.listdir(tmp_path)), deadline)
            time.sleep(rng.uniform(0.0, 0.002))
        os.kill(pid, signal.SIGKILL)  # no cleanup of any kind runs
        os.waitpid(pid, 0)
        values = set(load(path).state_dict().values())  # the old model or a newer one, whole
        assert len(values) == 1
        left_behind += any(name.endswith(".tmp") for name in os.listdir(tmp_path))
        if time.monotonic() > deadline:
            break
    assert left_behind > 0
    save(model, path)
    assert os.listdir(tmp_path) == ["model.json"]


def _wait_for(condition: Any, deadline: float) -> None:
    while not condition() and time.monotonic() < deadline:
        pass


def test_a_parameter_holding_a_numpy_number_saves(tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    w0, w1, b = model.parameters()
    w0.data, w1.data, b.data = np.float32(0.5), np.int64(-3), np.float64(0.25)  # type: ignore[assignment]
    save(model, tmp_path / "m.json")
    assert load(tmp_path / "m.json").state_dict() == {
        "layers.0.neurons.0.w.0": 0.5,
        "layers.0.neurons.0.w.1": -3.0,
        "layers.0.neurons.0.b": 0.25,
    }


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("0.5", "save: parameter layers.0.neurons.0.w.1 must be a number, got str '0.5'"),
        (None, "save: parameter layers.0.neurons.0.w.1 must be a number, got NoneType None"),
        (
            np.array([0.5]),
            r"save: parameter layers.0.neurons.0.w.1 must be a number, got an array of shape \(1,\)",
        ),
    ],
)
def test_a_parameter_that_is_not_a_number_is_named(bad: Any, message: str, tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    model.parameters()[1].data = bad
    with pytest.raises(TypeError, match=message):
        save(model, tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


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
        "is damaged: its model section describes 9 parameters, its parameters section holds 8",
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


def _edit(section: str, **entries: Any) -> str:
    """A valid file with entries of one section replaced ("" for the top level)."""
    document = _valid()
    if section:
        document[section] = {**document[section], **entries}
    else:
        document.update(entries)
    return json.dumps(document)


def _with_text(section: str, key: str, text: str) -> str:
    """A valid file whose section[key] is the raw JSON text given (what json.dumps cannot write)."""
    marker = "__marker__"
    return _edit(section, **{key: marker}).replace(json.dumps(marker), text)


DEEP = "[" * 100_000 + "]" * 100_000
B = "layers.1.neurons.0.b"
DAMAGED = {
    # Nesting, wrong types at each level, and numbers too large.
    "deep nesting": (DEEP, r"is not a saved model \(its JSON is nested too deeply\)"),
    "deep nesting inside": (_with_text("model", "nin", DEEP), "its JSON is nested too deeply"),
    "a list as the model type": (_edit("model", type=["MLP"]), "its model or parameters section is missing"),
    "a list as the model": (
        _edit("", model=[_valid()["model"]]),
        "its model or parameters section is missing",
    ),
    "a list as the parameters": (
        _edit("", parameters=[0.5] * 9),
        "its model or parameters section is missing",
    ),
    "a str as the version": (_edit("", version="1"), "has format version '1'; this library reads version 1"),
    "a bool as the version": (_edit("", version=True), "has format version True"),
    "a float as the version": (_edit("", version=1.0), "has format version 1.0"),
    "no version": (json.dumps({k: v for k, v in _valid().items() if k != "version"}), "format version None"),
    "a huge int": (
        _with_text("model", "nin", "1" + "0" * 5000),
        "it holds an integer of more than 4300 digits",
    ),
    "a huge size": (
        _with_text("model", "nin", "1" + "0" * 4000),
        r"describes <an int of about 4\d\d\d digits> parameters, its parameters section holds 9",
    ),
    "a huge version": (_with_text("", "version", "9" * 5000), "integer of more than 4300 digits"),
    "a huge parameter": (
        _with_text("parameters", B, "1" + "0" * 400),
        "entry 'layers.1.neurons.0.b' must be a finite number, got <an int of about 401 digits>",
    ),
    "an overflowing parameter": (_with_text("parameters", B, "1e400"), "must be a finite number, got inf"),
    "an infinite parameter": (_with_text("parameters", B, "-Infinity"), "must be a finite number, got -inf"),
    "a list parameter": (_edit("parameters", **{B: [0.5]}), r"must be a number, got list \[0.5\]"),
    "a bool parameter": (_edit("parameters", **{B: True}), "must be a number, got bool True"),
    "a null parameter": (_edit("parameters", **{B: None}), "must be a number, got NoneType None"),
    # Sizes and names no model has.
    "a negative size": (_edit("model", nin=-2), "is damaged: MLP: nin must be a positive int, got -2"),
    "a zero size": (_edit("model", nouts=[0, 1]), r"MLP: nouts\[0\] must be a positive int, got 0"),
    "a bool size": (_edit("model", nouts=[True, 1]), r"MLP: nouts\[0\] must be a positive int, got True"),
    "a float size": (_edit("model", nin=2.0), "MLP: nin must be a positive int, got 2.0"),
    "a number as the sizes": (
        _edit("model", nouts=2),
        "MLP: nouts must be a non-empty list of layer sizes, got 2",
    ),
    "no sizes": (_edit("model", nouts=[]), r"MLP: nouts must be a non-empty list of layer sizes, got \[\]"),
    "a dict as the sizes": (_edit("model", nouts={"0": 2, "1": 1}), "MLP: nouts must be a non-empty list"),
    "an unknown activation": (_edit("model", activation="gelu"), "Neuron: unknown activation 'gelu'"),
    "a list as the output activation": (
        _edit("model", output_activation=["linear"]),
        r"Neuron: unknown activation \['linear'\]",
    ),
    "an extra model entry": (
        _edit("model", dropout=0.5),
        "its model section has an unexpected 'dropout' entry",
    ),
    "an extra section": (_edit("", comment="mine"), "it has an unexpected section 'comment'"),
    "a layer without nout": (
        json.dumps({**_valid(), "model": {"type": "Layer", "nin": 2, "activation": "relu"}}),
        "its model section has no 'nout' entry",
    ),
    "10 billion parameters": (
        _edit("model", nouts=[100_000, 100_000, 1]),
        "its model section describes 10,000,500,001 parameters, its parameters section holds 9",
    ),
}


REFUSED = {**BAD_FILES, **DAMAGED}  # bad files, then damaged ones: each refused the same way
assert len(REFUSED) == len(BAD_FILES) + len(DAMAGED), "a case name is used twice"


@pytest.mark.parametrize(("content", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_or_damaged_file_raises_value_error_naming_it_and_changes_nothing(
    content: str | bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=f"^load: {re.escape(str(path))} .*{message}"):
        load(path)
    model = MLP(2, [2, 1], seed=5)
    before = model.state_dict()
    with pytest.raises(ValueError, match=f"^load: {re.escape(str(path))} "):
        load(path, model=model)
    assert model.state_dict() == before


def test_the_10_billion_parameter_file_is_small() -> None:
    assert len(DAMAGED["10 billion parameters"][0]) < 800  # refused by counting, before anything is built


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
