"""nn.module: micrograd's Neuron, Layer and MLP, their options, parameters, state and recordings."""

from __future__ import annotations

import json
import math
import random
import re
import statistics
from typing import Any

import numpy as np
import pytest
from micrograd import nn as micro

from engine import Value, gradcheck, scope_of, tag_scopes, topo_order
from nn.init import he, uniform, xavier
from nn.module import MLP, Layer, Module, Neuron, record

# -- micrograd compatibility ---------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(2, [16, 16, 1]), (3, [4, 4, 1]), (1, [1]), (4, [5, 3])])
def test_micrograd_code_gets_micrograd_weights_and_outputs(sizes: tuple[int, list[int]]) -> None:
    nin, nouts = sizes
    random.seed(1337)
    ours = MLP(nin, nouts)
    random.seed(1337)
    theirs = micro.MLP(nin, nouts)
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    x = [0.5 * i - 0.7 for i in range(nin)]
    out, expected = ours(x), theirs(x)
    if isinstance(expected, list):
        assert [o.data for o in out] == [e.data for e in expected]
    else:
        assert out.data == expected.data  # bit for bit: the same ops in the same order


def test_micrograd_reprs() -> None:
    random.seed(0)
    assert repr(MLP(2, [3, 1])) == repr(micro.MLP(2, [3, 1]))
    assert repr(Neuron(3, activation="tanh")) == "TanhNeuron(3)"


def test_parameter_count_and_names() -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert names[-1] == "layers.2.neurons.0.b"
    assert "layers.1.neurons.15.w.15" in names
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert Neuron(2, seed=0).named_parameters(prefix="n.")[0][0] == "n.w.0"


def test_recordings_are_not_parameters() -> None:
    model = MLP(2, [2, 1], seed=0)
    with record(model):
        model([1.0, 2.0])
    assert len(model.parameters()) == 9


# -- options: seeds, initialization, activations --------------------------------------------------


def test_a_seed_is_deterministic_and_leaves_the_global_random_state_alone() -> None:
    random.seed(5)
    before = random.getstate()
    a, b, c = MLP(3, [8, 2], seed=7), MLP(3, [8, 2], seed=7), MLP(3, [8, 2], seed=8)
    assert random.getstate() == before
    assert a.state_dict() == b.state_dict() != c.state_dict()
    generator = random.Random(7)
    assert MLP(3, [8, 2], seed=generator).state_dict() == a.state_dict()


@pytest.mark.parametrize("bad", [1.5, "7", True, np.bool_(True), [1]])
def test_a_bad_seed_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"MLP: seed must be an int, a random\.Random or None, got"):
        MLP(2, [1], seed=bad)


def test_numpy_integers_are_sizes_and_seeds() -> None:
    expected = MLP(2, [3, 1], seed=7)
    for model in (
        MLP(np.int64(2), [np.int64(3), np.int32(1)], seed=np.int64(7)),
        MLP(2, np.array([3, 1]), seed=np.uint8(7)),
        MLP(2, (3, 1), seed=7),
    ):
        assert model.state_dict() == expected.state_dict()
        assert model.config() == expected.config()
        assert json.loads(json.dumps(model.config())) == expected.config()  # plain ints: nn.save can write it
    assert Layer(np.int64(3), np.int16(2), seed=np.int64(1)).config() == Layer(3, 2).config()
    assert Neuron(np.int64(4), seed=np.int8(0)).state_dict() == Neuron(4, seed=0).state_dict()


def test_init_schemes_have_their_scales() -> None:
    fan_in, fan_out = 400, 100
    layer = Layer(fan_in, fan_out, init="xavier", seed=1)
    weights = [w.data for n in layer.neurons for w in n.w]
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert max(map(abs, weights)) <= bound and max(map(abs, weights)) > 0.99 * bound
    he_weights = [w.data for n in Layer(fan_in, fan_out, init="he", seed=1).neurons for w in n.w]
    assert statistics.pstdev(he_weights) == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert statistics.fmean(he_weights) == pytest.approx(0.0, abs=0.003)
    uniform_weights = [w.data for n in Layer(fan_in, fan_out, seed=1).neurons for w in n.w]
    assert statistics.pstdev(uniform_weights) == pytest.approx(1 / math.sqrt(3), rel=0.02)
    assert all(n.b.data == 0.0 for n in layer.neurons)


def test_init_functions_and_a_custom_init() -> None:
    rng = random.Random(0)
    assert -1.0 <= uniform(10, 10, rng) <= 1.0
    assert abs(xavier(3, 3, rng)) <= 1.0
    assert isinstance(he(3, 3, rng), float)
    n = Neuron(3, init=lambda fan_in, fan_out, rng: 0.25 * fan_in)
    assert [w.data for w in n.w] == [0.75, 0.75, 0.75]


@pytest.mark.parametrize(
    ("activation", "f"),
    [
        ("relu", lambda z: max(0.0, z)),
        ("tanh", math.tanh),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("linear", lambda z: z),
    ],
)
@pytest.mark.parametrize("z_sign", [1.0, -1.0])
def test_each_activation_applies_to_z(activation: str, f: Any, z_sign: float) -> None:
    n = Neuron(2, activation=activation, init=lambda *_: z_sign * 0.5)
    n.b.data = 0.25 * z_sign
    z = z_sign * (0.5 * 1.0 + 0.5 * 3.0 + 0.25)
    assert n([1.0, 3.0]).data == pytest.approx(f(z), rel=1e-15)  # numbers work on a lone neuron too
    assert n([Value(1.0), Value(3.0)]).data == pytest.approx(f(z), rel=1e-15)
    assert gradcheck(lambda a, b: n([a, b]), [1.0, 3.0])


def test_the_last_layer_is_linear_unless_told() -> None:
    model = MLP(2, [3, 3, 2], activation="tanh", seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]
    model = MLP(2, [3, 1], activation=["sigmoid"], output_activation="sigmoid", seed=0)
    assert [layer.activation for layer in model.layers] == ["sigmoid", "sigmoid"]
    assert 0.0 < model([5.0, -5.0]).data < 1.0
    assert not micro.Neuron(2, nonlin=False).nonlin and not Neuron(2, nonlin=False).nonlin


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Neuron(0), ValueError, "Neuron: nin must be a positive int, got 0"),
        (lambda: Neuron(2, activation="gelu"), ValueError, "unknown activation 'gelu'; choose one of 'relu'"),
        (lambda: Neuron(2, init="lecun"), ValueError, "Neuron: unknown init 'lecun'"),
        (lambda: Layer(2, 0), ValueError, "Layer: nout must be a positive int, got 0"),
        (lambda: MLP(2, 3), ValueError, "MLP: nouts must be a non-empty list of layer sizes, got 3"),
        (lambda: MLP(2, []), ValueError, "MLP: nouts must be a non-empty list"),
        (lambda: MLP(2.0, [1]), ValueError, "MLP: nin must be a positive int, got 2.0"),
        (lambda: MLP(2, [3, 3, 1], activation=["relu"]), ValueError, "one name per hidden layer .2., got 1"),
        # A bool or a str is not a size, nor is a set an order of sizes.
        (lambda: MLP(True, [1]), ValueError, "MLP: nin must be a positive int, got True"),
        (lambda: MLP(2, [3, True]), ValueError, r"MLP: nouts\[1\] must be a positive int, got True"),
        (lambda: MLP(2, ["3"]), ValueError, r"MLP: nouts\[0\] must be a positive int, got '3'"),
        (lambda: MLP(2, np.bool_(True)), ValueError, "MLP: nouts must be a non-empty list of layer sizes"),
        (lambda: MLP(2, {3, 1}), ValueError, r"MLP: nouts must be a non-empty list of layer sizes, got \{"),
        (lambda: MLP(2, "31"), ValueError, "MLP: nouts must be a non-empty list of layer sizes, got '31'"),
        (lambda: MLP(2, [3, 1], activation={"tanh"}), ValueError, "MLP: activation must be a name or a list"),
        (lambda: Layer(2, True), ValueError, "Layer: nout must be a positive int, got True"),
        (lambda: Layer(np.float64(2.0), 1), ValueError, "Layer: nin must be a positive int, got"),
        (lambda: Neuron("2"), ValueError, "Neuron: nin must be a positive int, got '2'"),
        (lambda: Neuron(2, activation=["relu"]), ValueError, r"Neuron: unknown activation \['relu'\]"),
        (lambda: Neuron(2, init=["he"]), ValueError, r"Neuron: unknown init \['he'\]"),
    ],
)
def test_bad_architectures_are_refused(make: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


# -- calling: inputs and outputs -----------------------------------------------------------------


def test_inputs_may_be_numbers_numpy_rows_or_values() -> None:
    model = MLP(3, [4, 1], seed=0)
    x = [0.5, -1.0, 2]
    expected = model(x).data
    assert model(np.array(x)).data == expected
    assert model([np.float32(0.5), np.int64(-1), 2.0]).data == expected
    values = [Value(v) for v in x]
    out = model(values)
    out.backward()
    assert out.data == expected and any(v.grad != 0.0 for v in values)  # gradients reach Value inputs


def test_numbers_become_shared_labelled_constants() -> None:
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    leaves = [n for n in topo_order(out) if not n._prev and not n.requires_grad]
    assert sorted(n.label for n in leaves) == ["x0", "x1"]  # made once, not once per neuron


@pytest.mark.parametrize(
    ("x", "message"),
    [
        ([1.0], r"MLP: expected 2 inputs, got 1: \[1.0\]"),
        (
            np.zeros((1, 2, 1)),
            r"MLP: x must be one example \(a 1-d row of 2 numbers\) or a 2-d array .*\(1, 2, 1\)",
        ),
        (np.zeros((4, 3)), r"MLP: expected 2 inputs \(columns of X\), got X of shape \(4, 3\)"),
        (
            np.zeros((0, 2)),
            r"MLP: X must be a non-empty 2-d array \(examples × features\), got shape \(0, 2\)",
        ),
    ],
)
def test_wrong_inputs_are_refused(x: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MLP(2, [1], seed=0)(x)


@pytest.mark.parametrize(
    ("model", "x", "error", "message"),
    [
        # Each weight needs its input: a lone neuron or layer counts them as an MLP does.
        (lambda: Neuron(3, seed=0), [1.0], ValueError, r"Neuron: expected 3 inputs, got 1: \[1.0\]"),
        (lambda: Neuron(2, seed=0), [1.0, 2.0, 3.0], ValueError, "Neuron: expected 2 inputs, got 3"),
        (
            lambda: Layer(3, 2, seed=0),
            [Value(1.0), Value(2.0)],
            ValueError,
            "Layer: expected 3 inputs, got 2",
        ),
        (
            lambda: Layer(2, 2, seed=0),
            np.zeros((2, 3)),
            ValueError,
            r"Layer: expected 2 inputs \(columns of X\)",
        ),
        (lambda: Neuron(2, seed=0), np.zeros(()), ValueError, r"Neuron: x must be one example"),
        # An input without an order cannot be matched to the weights.
        (lambda: MLP(2, [1], seed=0), {1.0, 2.0}, TypeError, "MLP: x must be an ordered sequence"),
        (lambda: MLP(2, [1], seed=0), {"a": 1.0, "b": 2.0}, TypeError, "MLP: x must be an ordered sequence"),
        (lambda: Neuron(2, seed=0), {1.0, 2.0}, TypeError, "Neuron: x must be an ordered sequence"),
        (lambda: Layer(2, 1, seed=0), {0: 1.0, 1: 2.0}, TypeError, "Layer: x must be an ordered sequence"),
        (lambda: MLP(2, [1], seed=0), "ab", TypeError, "MLP: x must be an ordered sequence .* got str 'ab'"),
        (
            lambda: MLP(2, [1], seed=0),
            [1.0, "b"],
            TypeError,
            "MLP: input 1 must be a number or a Value, got str",
        ),
        (lambda: Neuron(2, seed=0), [None, 1.0], TypeError, "Neuron: input 0 must be a number or a Value"),
    ],
)
def test_every_model_checks_its_inputs(model: Any, x: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        model()(x)


def test_a_neuron_or_layer_on_numbers_equals_one_on_values() -> None:
    x = [0.5, np.float32(-1.0), np.int64(2)]
    neuron, layer = Neuron(3, seed=0), Layer(3, 2, seed=0)
    assert neuron(x).data == neuron([Value(float(v)) for v in x]).data
    assert neuron(np.array(x, dtype=float)).data == neuron(tuple(x)).data
    assert [o.data for o in layer(x)] == [o.data for o in layer([Value(float(v)) for v in x])]


def test_outputs_a_layer_gives_a_list_an_mlp_a_value_when_it_has_one_output() -> None:
    x = [Value(1.0), Value(2.0)]
    assert isinstance(Layer(2, 1, seed=0)(x), list)
    assert isinstance(MLP(2, [1], seed=0)(x), Value)
    out = MLP(2, [3], seed=0)(x)
    assert isinstance(out, list) and len(out) == 3


# -- the demon: recorded pre-activations -------------------------------------------------------------


def test_record_keeps_z_per_call_and_its_grad_is_delta() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=3)
    examples = [[0.5, -1.0], [1.5, 0.25]]
    with record(model):
        loss = sum((model(x) - 1.0) ** 2 for x in examples)
    loss.backward()  # after the block: the recordings stay readable
    for layer in model.layers:
        for n in layer.neurons:
            assert len(n.zs) == 2
            # ∂C/∂b = Σ over examples of ∂C/∂z, since z = w·x + b: δ summed is the bias gradient.
            assert sum(z.grad for z in n.zs) == pytest.approx(n.b.grad, rel=1e-12)
    # One example, checked against central differences through the bias.
    n = model.layers[0].neurons[1]
    with record(model):
        out = (model(examples[0]) - 1.0) ** 2
    out.backward()
    [z] = n.zs

    def cost(b: float) -> float:
        saved, n.b.data = n.b.data, b
        try:
            return float((model(examples[0]) - 1.0).data ** 2)
        finally:
            n.b.data = saved

    h = 1e-6
    assert z.grad == pytest.approx((cost(n.b.data + h) - cost(n.b.data - h)) / (2 * h), rel=1e-6)


def test_without_record_nothing_is_kept_and_record_restarts() -> None:
    model = MLP(2, [2, 1], seed=0)
    model([1.0, 1.0])
    assert all(n.zs == [] for layer in model.layers for n in layer.neurons)
    with record(model):
        model([1.0, 1.0])
        with record(model):  # nested: keeps adding
            model([2.0, 2.0])
        model([3.0, 3.0])
    model([4.0, 4.0])  # after the block: not recorded
    assert len(model.layers[0].neurons[0].zs) == 3
    with record(model):
        model([1.0, 1.0])
    assert len(model.layers[0].neurons[0].zs) == 1


def test_scopes_name_layers_and_neurons_when_tagging() -> None:
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    assert scope_of(out) == ()
    with tag_scopes():
        out = model([1.0, 2.0])
    assert scope_of(out) == ("layer 1", "neuron 0")
    tags = {scope_of(n) for n in topo_order(out) if n._prev}
    assert tags == {("layer 1", "neuron 0")} | {("layer 0", f"neuron {j}") for j in range(3)}


# -- parameters and state --------------------------------------------------------------------------


def test_zero_grad_clears_every_parameter() -> None:
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip() -> None:
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert b([0.3, 0.4]).data == a([0.3, 0.4]).data


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), ValueError, "missing 'layers.1.neurons.0.b'"),
        (lambda s: s.update(extra=1.0), ValueError, "unexpected 'extra'"),
        (
            lambda s: s.update({"layers.0.neurons.0.w.0": "0.5"}),
            TypeError,
            "'layers.0.neurons.0.w.0' must be a number",
        ),
        (lambda s: s.update({"layers.0.neurons.0.w.0": None}), TypeError, "must be a number, got NoneType"),
        (
            lambda s: s.update({"layers.0.neurons.2.b": math.nan}),
            ValueError,
            "entry 'layers.0.neurons.2.b' must be a finite number, got nan",
        ),
        (lambda s: s.update({"layers.0.neurons.0.b": True}), TypeError, "must be a number, got bool True"),
        (
            lambda s: s.update({"layers.0.neurons.0.b": np.bool_(False)}),
            TypeError,
            "must be a number, got bool",
        ),
        (
            lambda s: s.update({"layers.0.neurons.0.b": 10**400}),
            ValueError,
            "must be a finite number, got <an int of about 401 digits>",
        ),
        (
            lambda s: s.update({"layers.0.neurons.0.b": [[[0.5]]]}),
            TypeError,
            r"must be a number, got list \[\[",
        ),
    ],
)
def test_a_bad_state_raises_and_changes_nothing(edit: Any, error: type[Exception], message: str) -> None:
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    state = {name: value + 1.0 for name, value in before.items()}
    edit(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_numpy_numbers_are_state_entries() -> None:
    model = MLP(2, [1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    model.load_state_dict(dict(zip(names, [np.float32(0.5), np.int64(-2), np.float64(0.25)])))
    state = model.state_dict()
    assert state == {names[0]: 0.5, names[1]: -2.0, names[2]: 0.25}
    assert all(type(x) is float for x in state.values())


def test_a_state_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(TypeError, match="needs a mapping of name -> number, got list"):
        MLP(2, [1], seed=0).load_state_dict([1.0, 2.0, 3.0])  # type: ignore[arg-type]


def test_configs_describe_the_architecture() -> None:
    assert MLP(2, [3, 4, 1], activation=["tanh", "relu"], seed=0).config() == {
        "type": "MLP",
        "nin": 2,
        "nouts": [3, 4, 1],
        "activation": ["tanh", "relu"],
        "output_activation": "linear",
    }
    assert Layer(3, 2, activation="sigmoid").config() == {
        "type": "Layer",
        "nin": 3,
        "nout": 2,
        "activation": "sigmoid",
    }
    assert Neuron(3, nonlin=False).config() == {"type": "Neuron", "nin": 3, "activation": "linear"}
    with pytest.raises(NotImplementedError, match="Module has no config"):
        Module().config()


def test_a_custom_module_finds_its_parameters() -> None:
    class Affine(Module):
        def __init__(self) -> None:
            self.scale = Value(2.0)
            self.parts = [Neuron(1, seed=0), Value(3.0)]
            self._cache = [Value(9.0)]  # private: not a parameter

    names = [name for name, _ in Affine().named_parameters()]
    assert names == ["scale", "parts.0.w.0", "parts.0.b", "parts.1"]
    assert len(Affine().modules()) == 2


# -- naming, rebuilding and layer outputs: what Module owns ----------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        Neuron(3, activation="tanh", seed=1),
        Neuron(2, nonlin=False, seed=1),
        Layer(3, 2, activation="sigmoid", seed=1),
        MLP(2, [3, 1], seed=1),
        MLP(2, [4, 3, 2], activation=["tanh", "relu"], output_activation="sigmoid", seed=1),
        MLP(3, [1], seed=1),
    ],
    ids=repr,
)
def test_from_config_rebuilds_every_config_type(model: Module) -> None:
    config = json.loads(json.dumps(model.config()))  # as a saved file gives it back
    rebuilt = Module.from_config(config)
    assert type(rebuilt) is type(model)
    assert rebuilt.config() == model.config()
    assert repr(rebuilt) == repr(model)
    assert [name for name, _ in rebuilt.named_parameters()] == [name for name, _ in model.named_parameters()]
    assert type(model).from_config(config).config() == config  # the class itself rebuilds its own kind


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: Module.from_config({"type": "Conv2d"}),
            "Module.from_config: config has an unknown type 'Conv2d'",
        ),
        (lambda: Module.from_config([1, 2]), "Module.from_config: config must be a dict, got list"),
        (lambda: Module.from_config({"type": "Neuron", "nin": 2}), "config has no 'activation' entry"),
        (
            lambda: Module.from_config({"type": "Neuron", "nin": 2, "activation": "relu", "bias": 0}),
            "config has an unexpected 'bias' entry",
        ),
        (
            lambda: Module.from_config({"type": "Neuron", "nin": 0, "activation": "relu"}),
            "Neuron: nin must be a positive int, got 0",
        ),
        (lambda: MLP.from_config(Neuron(2).config()), "MLP.from_config: config describes a Neuron"),
    ],
)
def test_from_config_refuses_what_config_never_returns(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_named_modules_names_every_module_as_named_parameters_prefixes_them() -> None:
    model = MLP(2, [2, 1], seed=0)
    named = list(model.named_modules())
    assert [(name, type(m).__name__) for name, m in named] == [
        ("", "MLP"),
        ("layers.0", "Layer"),
        ("layers.0.neurons.0", "Neuron"),
        ("layers.0.neurons.1", "Neuron"),
        ("layers.1", "Layer"),
        ("layers.1.neurons.0", "Neuron"),
    ]
    assert [m for _, m in named] == model.modules()
    assert named[2][1] is model.layers[0].neurons[0]
    # A parameter's name is its module's name and its name inside that module, as in PyTorch.
    params = dict(model.named_parameters())
    for name, module in named[1:]:
        for inner, p in module.named_parameters(prefix=f"{name}."):
            assert params[inner] is p
    assert [name for name, _ in model.named_modules(prefix="net")][:2] == ["net", "net.layers.0"]


def relu_2_2_1() -> MLP:
    """z = (x0 + 2 x1, 3 x0 − x1) then out = 2 h0 − h1 + 0.5: at (1, 1) h = (3, 2), out = 4.5."""
    model = MLP(2, [2, 1], seed=0)
    for p, value in zip(model.parameters(), [1.0, 2.0, 0.0, 3.0, -1.0, 0.0, 2.0, -1.0, 0.5], strict=True):
        p.data = value
    return model


@pytest.mark.parametrize(
    ("X", "expected"),
    [
        # At (−1, 0): z = (−1, −3), both ReLUs off, out = 0.5.
        ([[1.0, 1.0], [-1.0, 0.0]], [[[3.0, 2.0], [0.0, 0.0]], [[4.5], [0.5]]]),
        (np.array([[1.0, 1.0]]), [[[3.0, 2.0]], [[4.5]]]),
    ],
)
def test_layer_outputs_are_each_layers_activations_by_hand(X: Any, expected: list[Any]) -> None:
    outputs = relu_2_2_1().layer_outputs(X)
    assert [a.tolist() for a in outputs] == expected  # plain numbers: no graph is built
    assert outputs[-1][:, 0].tolist() == [relu_2_2_1()(x).data for x in np.asarray(X).tolist()]


def test_layer_outputs_names_itself_on_bad_input() -> None:
    with pytest.raises(ValueError, match=r"MLP.layer_outputs: X must be a non-empty 2-d array"):
        relu_2_2_1().layer_outputs([1.0, 1.0])
