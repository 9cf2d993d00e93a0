"""Module, Neuron, Layer, MLP: micrograd's network, with PyTorch's names for what it added.

Module owns what every model shares: the walk over its attributes that names each parameter and
submodule (named_parameters, named_modules: the only place those names are made), state_dict, and
rebuilding a model from its config() (from_config, which nn.load and nn.pruning.prune use).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from typing import Any, SupportsFloat, TypeVar

import numpy as np

from engine import Value, is_tagging_scopes, no_grad, scope

from ._checks import check_int, data_number, described, matrix, ordered, show
from .activations import ACTIVATIONS, check_activation
from .init import Init, Rng, make_rng, resolve_init

__all__ = ["MLP", "Layer", "Module", "Neuron", "record"]

Inputs = Sequence[Value | SupportsFloat] | np.ndarray
M = TypeVar("M", bound="Module")


class Module:
    """Anything with parameters: they are found in its attributes, in the order they were set.

    An attribute that is a Value, a list of Values, a Module or a list of Modules is walked;
    attributes starting with `_` are not (that is where recordings and caches live).
    """

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """(dotted name, parameter) pairs, e.g. ("layers.0.neurons.2.w.1", Value(...))."""
        return list(self._walk(prefix))

    def parameters(self) -> list[Value]:
        """Every parameter, in named_parameters() order."""
        return [p for _, p in self._walk("")]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (leaves accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """{dotted name: parameter value}: everything that training changes."""
        return {name: p.data for name, p in self._walk("")}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Set every parameter from state; on any missing, extra or bad entry, raise and change nothing."""
        owner = f"load_state_dict ({type(self).__name__})"
        if not isinstance(state, Mapping):
            raise TypeError(f"{owner}: needs a mapping of name -> number, got {type(state).__name__}")
        named = dict(self._walk(""))
        missing = [name for name in named if name not in state]
        extra = [str(name) for name in state if name not in named]
        if missing or extra:
            raise ValueError(
                f"{owner}: the state does not match the model's {len(named)} parameters"
                + (f"; missing {_some(missing)}" if missing else "")
                + (f"; unexpected {_some(extra)}" if extra else "")
            )
        values = {name: data_number(owner, f"entry {name!r}", state[name]) for name in named}
        for name, p in named.items():  # only now, with every entry checked, change the model
            p.data = values[name]

    def config(self) -> dict[str, Any]:
        """The architecture without the parameters, enough to rebuild it (what nn.save writes)."""
        raise NotImplementedError(f"{type(self).__name__} has no config(); save its state_dict() instead")

    @classmethod
    def from_config(cls: type[M], config: Mapping[str, Any]) -> M:
        """A new model of the architecture config() described, its parameters drawn with seed 0."""
        problem = config_problem(config)
        if problem is not None:
            raise ValueError(f"{cls.__name__}.from_config: config {problem}")
        kind, entries = _CONFIGS[config["type"]]
        if not issubclass(kind, cls):
            raise ValueError(f"{cls.__name__}.from_config: config describes a {kind.__name__}")
        build: Any = kind  # each class takes its config's entries as keyword arguments
        model: M = build(**{key: config[key] for key in entries}, seed=0)
        return model

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("") and every module inside it, depth first, e.g.
        ("layers.0.neurons.2", Neuron(...)): the names named_parameters() prefixes."""
        yield prefix, self
        for name, item in self._members(f"{prefix}." if prefix else ""):
            if isinstance(item, Module):
                yield name, item

    def modules(self) -> list[Module]:
        """This module and every module inside it, depth first, in attribute order."""
        return [m for _, m in self.named_modules()]

    def _walk(self, prefix: str) -> Iterator[tuple[str, Value]]:
        return ((name, item) for name, item in self._members(prefix) if isinstance(item, Value))

    def _members(self, prefix: str) -> Iterator[tuple[str, Value | Module]]:
        """Every Value and Module inside, by dotted name, depth first: the one place names are made."""
        for attr, value in vars(self).items():
            if attr.startswith("_"):
                continue
            items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
            for index, item in items:
                name = f"{prefix}{attr}" if index is None else f"{prefix}{attr}.{index}"
                if isinstance(item, (Value, Module)):
                    yield name, item
                if isinstance(item, Module):
                    yield from item._members(name + ".")


class Neuron(Module):
    """One unit: z = w·x + b, then its activation (micrograd's Neuron, with options)."""

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str | Init = "uniform",
        seed: int | Rng | None = None,
        fan_out: int = 1,
    ) -> None:
        nin = check_int("Neuron", "nin", nin, 1)
        fan_out = check_int("Neuron", "fan_out", fan_out, 1)
        activation = check_activation("Neuron", activation)
        rng = make_rng(seed, "Neuron")
        scheme = resolve_init(init, "Neuron")
        # micrograd draws each weight with random.uniform(-1, 1) in this order and starts b at 0:
        # with init="uniform" and the same random.seed(), the weights are micrograd's own.
        self.w = [Value(scheme(nin, fan_out, rng), label=f"w{i}") for i in range(nin)]
        self.b = Value(0.0, label="b")
        self.activation = activation if nonlin else "linear"
        self._act = ACTIVATIONS[self.activation].function
        self._name = "neuron"  # its scope in drawings; Layer names it "neuron j"
        self._zs: list[Value] = []  # pre-activations kept by record(), one per call
        self._recording = False

    @property
    def nonlin(self) -> bool:
        """Whether an activation follows z (micrograd's flag)."""
        return self._act is not None

    @property
    def zs(self) -> list[Value]:
        """The pre-activations z kept by record(), one per call (a lane value for a 2-d X); z.grad is δ."""
        return self._zs

    def __call__(self, x: Inputs) -> Value:
        """σ(Σᵢ wᵢxᵢ + b) for one example x of nin numbers or Values; for a 2-d X, one lane per row."""
        return self._run(_inputs("Neuron", x, len(self.w)))

    def _run(self, x: list[Value]) -> Value:
        """__call__ on inputs already checked (by the layer or MLP that holds this neuron)."""
        if is_tagging_scopes():  # for drawings: a box around this neuron's nodes
            with scope(self._name):
                return self._forward(x)
        return self._forward(x)

    def _forward(self, x: Sequence[Value]) -> Value:
        # micrograd's order, b + w₀x₀ + w₁x₁ + ..., so results match it to the last bit.
        z: Value = sum(map(Value.__mul__, self.w, x), self.b)
        if self._recording:
            self._zs.append(z)
        return z if self._act is None else self._act(z)

    def config(self) -> dict[str, Any]:
        """The architecture, without the parameters: enough to rebuild it (see nn.save)."""
        return {"type": "Neuron", "nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"{ACTIVATIONS[self.activation].display}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons, each seeing all nin inputs; always returns a list of nout Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str | Init = "uniform",
        seed: int | Rng | None = None,
    ) -> None:
        nin = check_int("Layer", "nin", nin, 1)
        nout = check_int("Layer", "nout", nout, 1)
        rng = make_rng(seed, "Layer")
        self.neurons = [
            Neuron(nin, nonlin, activation=activation, init=init, seed=rng, fan_out=nout) for _ in range(nout)
        ]
        self._name = "layer"
        self._name_neurons()

    def _name_neurons(self) -> None:
        for j, n in enumerate(self.neurons):
            n._name = f"neuron {j}"

    def __call__(self, x: Inputs) -> list[Value]:
        """[neuron(x) for each neuron], x one example of nin numbers or Values, or a 2-d X (lane values)."""
        return self._run(_inputs("Layer", x, len(self.neurons[0].w)))

    def _run(self, x: list[Value]) -> list[Value]:
        """__call__ on inputs already checked: the inputs are converted once, not once per neuron."""
        if is_tagging_scopes():
            with scope(self._name):
                return [n._run(x) for n in self.neurons]
        return [n._run(x) for n in self.neurons]

    @property
    def activation(self) -> str:
        """Its neurons' activation (they share one)."""
        return self.neurons[0].activation

    def config(self) -> dict[str, Any]:
        """The architecture, without the parameters: enough to rebuild it (see nn.save)."""
        return {
            "type": "Layer",
            "nin": len(self.neurons[0].w),
            "nout": len(self.neurons),
            "activation": self.activation,
        }

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: layers of sizes nouts on nin inputs (micrograd's MLP, with options).

    Hidden layers use `activation` (one name, or a list with one per hidden layer); the last layer
    uses `output_activation` ("linear" by default, as in micrograd). Called on one example, it
    returns a Value if the last layer has one neuron, else a list of Values. Called on a 2-d X
    (examples × features), it builds the graph of one example whose values are lanes, one per row
    of X: the same nodes, each holding an array of the batch's numbers.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str | Sequence[str] = "relu",
        output_activation: str = "linear",
        init: str | Init = "uniform",
        seed: int | Rng | None = None,
    ) -> None:
        nin = check_int("MLP", "nin", nin, 1)
        widths = _layer_sizes(nouts)
        if isinstance(activation, str):
            hidden = [activation] * (len(widths) - 1)
        elif isinstance(activation, Iterable) and not isinstance(activation, (Set, Mapping)):
            hidden = list(activation)
        else:
            raise ValueError(
                "MLP: activation must be a name or a list of names, one per hidden layer, "
                f"got {show(activation)}"
            )
        if len(hidden) != len(widths) - 1:
            raise ValueError(
                f"MLP: activation lists one name per hidden layer ({len(widths) - 1}), "
                f"got {len(hidden)}: {show(activation)}"
            )
        rng = make_rng(seed, "MLP")
        sizes = [nin, *widths]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=act, init=init, seed=rng)
            for i, act in enumerate([*hidden, output_activation])
        ]
        self._name_layers()

    def _name_layers(self) -> None:
        for i, layer in enumerate(self.layers):
            layer._name = f"layer {i}"

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return len(self.layers[0].neurons[0].w)

    @property
    def sizes(self) -> list[int]:
        """[nin, width of each layer...]."""
        return [self.nin, *(len(layer.neurons) for layer in self.layers)]

    def __call__(self, x: Inputs) -> Any:
        """The last layer's outputs for one example x (or lane values for a 2-d X): a Value if it has one
        neuron, else a list."""
        h: list[Value] = self.inputs(x)
        for layer in self.layers:
            h = layer._run(h)
        return h[0] if len(h) == 1 else h

    def inputs(self, x: Inputs) -> list[Value]:
        """x as Values: numbers (or X's columns, as lanes) become constants x0, x1..., shared by neurons."""
        return _inputs("MLP", x, self.nin)

    def layer_outputs(self, X: Any) -> list[np.ndarray]:
        """Each layer's outputs on every row of X, without a graph: one (examples, units) array per layer."""
        outputs = []
        with no_grad():  # only the numbers are wanted
            # __call__ returns only the last layer, so run the layers one by one to see each.
            h = _lanes("MLP.layer_outputs", X, self.nin)
            for layer in self.layers:
                h = layer._run(h)
                outputs.append(np.column_stack([v.data for v in h]))
        return outputs

    def config(self) -> dict[str, Any]:
        """The architecture, without the parameters: enough to rebuild it (see nn.save)."""
        *hidden, last = (layer.activation for layer in self.layers)
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": self.sizes[1:],
            "activation": hidden[0] if len(set(hidden)) == 1 else hidden,
            "output_activation": last,
        }

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


# config()'s "type" -> the class, and the entries besides "type" (its constructor's arguments).
_CONFIGS: dict[str, tuple[type[Module], tuple[str, ...]]] = {
    "Neuron": (Neuron, ("nin", "activation")),
    "Layer": (Layer, ("nin", "nout", "activation")),
    "MLP": (MLP, ("nin", "nouts", "activation", "output_activation")),
}


def config_class(config: object) -> type[Module] | None:
    """The class whose config() has config's "type" ("MLP" -> MLP), or None if there is none."""
    kind = config.get("type") if isinstance(config, Mapping) else None
    return _CONFIGS[kind][0] if isinstance(kind, str) and kind in _CONFIGS else None


def config_problem(config: object) -> str | None:
    """What keeps config from being one that config() returns ("has no 'nin' entry"), or None.

    Only the entries are checked here; their values are checked by the constructor they go to.
    """
    if not isinstance(config, Mapping):
        return f"must be a dict, got {described(config)}"
    if config_class(config) is None:
        choices = ", ".join(map(repr, _CONFIGS))
        return f"has an unknown type {show(config.get('type'))}; it must be one of {choices}"
    keys = ("type", *_CONFIGS[config["type"]][1])
    missing = [key for key in keys if key not in config]
    if missing:
        return f"has no {missing[0]!r} entry"
    extra = [key for key in config if key not in keys]
    if extra:  # an entry this version does not know would be silently dropped
        return f"has an unexpected {show(extra[0])} entry"
    return None


def config_parameters(config: Mapping[str, Any]) -> int:
    """How many parameters from_config(config) makes, the sizes checked as the constructors check
    them, without building anything (config_problem(config) must be None)."""
    kind = config["type"]
    if kind == "MLP":
        sizes = [check_int("MLP", "nin", config["nin"], 1), *_layer_sizes(config["nouts"])]
    else:
        sizes = [check_int(kind, "nin", config["nin"], 1)]
        sizes.append(check_int(kind, "nout", config["nout"], 1) if kind == "Layer" else 1)
    # Each neuron of a layer has a weight per input and a bias.
    return sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))


@contextmanager
def record(model: Module) -> Iterator[Module]:
    """Inside, every neuron of model keeps the pre-activation z of each call, for δ = ∂C/∂z.

    Nielsen's "demon": after loss.backward(), neuron.zs[k].grad is how much the cost would change
    per unit change of that neuron's z in call k: a number for one example, an array with one δ
    per example for a call on a 2-d X (z is then a lane value). The recordings stay readable after the block
    (until the next record() starts afresh); outside record() nothing is kept, at no cost.
    """
    neurons = [m for m in model.modules() if isinstance(m, Neuron)]
    outer = [n._recording for n in neurons]
    for n, nested in zip(neurons, outer):
        if not nested:  # a nested record() keeps adding to the outer one's recordings
            n._zs = []
        n._recording = True
    try:
        yield model
    finally:
        for n, nested in zip(neurons, outer):
            n._recording = nested


def _inputs(owner: str, x: Inputs, nin: int) -> list[Value]:
    """x as nin Values, constants x0, x1... made once and shared by every neuron: one example's numbers,
    or for a 2-d X (examples × features) its columns as lane values, so one graph carries every row."""
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            return _lanes(owner, x, nin)
        if x.ndim != 1:
            raise ValueError(
                f"{owner}: x must be one example (a 1-d row of {nin} numbers) "
                f"or a 2-d array (examples × features), got shape {x.shape}"
            )
        x = x.tolist()
    elif not isinstance(x, (list, tuple)):
        x = ordered(owner, "x", x)  # a set or dict has no order to match the weights by
    if len(x) != nin:
        raise ValueError(f"{owner}: expected {nin} inputs, got {len(x)}: {show(x)}")
    try:
        return [
            xi if isinstance(xi, Value) else Value(xi, label=f"x{i}", requires_grad=False)
            for i, xi in enumerate(x)
        ]
    except TypeError:  # Value() refused one: find it, and name the model and the input
        for i, xi in enumerate(x):
            try:
                _ = xi if isinstance(xi, Value) else Value(xi)
            except TypeError:
                raise TypeError(
                    f"{owner}: input {i} must be a number or a Value, got {described(xi)}"
                ) from None
        raise


def _lanes(owner: str, X: object, nin: int) -> list[Value]:
    """The columns of X (examples × nin features) as constant lane values x0, x1..., one lane per row."""
    array = matrix(owner, X)
    if array.shape[1] != nin:
        raise ValueError(f"{owner}: expected {nin} inputs (columns of X), got X of shape {array.shape}")
    return [Value(column, label=f"x{i}", requires_grad=False) for i, column in enumerate(array.T)]


def _layer_sizes(nouts: object) -> list[int]:
    """MLP's nouts checked: a non-empty ordered sequence of positive ints (config_parameters too)."""
    if (
        isinstance(nouts, (str, bytes, Set, Mapping))
        or not isinstance(nouts, Iterable)
        or (isinstance(nouts, np.ndarray) and nouts.ndim != 1)
    ):
        raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {show(nouts)}")
    sizes = list(nouts)
    if not sizes:
        raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {show(nouts)}")
    return [check_int("MLP", f"nouts[{i}]", n, 1) for i, n in enumerate(sizes)]


def _some(names: Sequence[str], limit: int = 5) -> str:
    """A few names for an error message, and how many more there are."""
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
