"""The playground's settings (every control, and the page's URL query) and the recipe they describe.

Settings is the whole state of the controls: the data (dataset, noise, size, split, seed), the
input features, the network's shape, and how it trains. The recipe turns it into things nn
trains with: `make_data` (the points, standardized, and the features computed from them),
`make_model`, `make_optimizer` and `make_loss`. Allowed values are TensorFlow Playground's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt

from engine import Value

from .._checks import check_choice, check_int, check_real, is_int, is_real, show
from ..activations import ACTIVATIONS
from ..data import make_blobs, make_circles, make_moons, make_spiral, make_xor, standardize
from ..init import INITS
from ..losses import binary_cross_entropy, l1_penalty, l2_penalty
from ..module import MLP
from ..optim import SGD, Adam, Optimizer

__all__ = [
    "DATASETS",
    "FEATURES",
    "LEARNING_RATES",
    "MAX_SEED",
    "OPTIMIZERS",
    "REGULARIZATIONS",
    "REG_RATES",
    "Data",
    "Settings",
    "features",
    "make_data",
    "make_loss",
    "make_model",
    "make_optimizer",
]

Array = npt.NDArray[np.float64]
Maker = Callable[[int, float, int], tuple[Array, npt.NDArray[np.int64]]]

# Each dataset as (n, noise, seed) -> (X, y), two classes 0/1, by nn.data's makers.
DATASETS: dict[str, Maker] = {
    "circles": lambda n, noise, seed: make_circles(n, noise=noise, factor=0.5, seed=seed),
    # Four clusters at (±1, ±1), spread even without noise, as the blobs: at noise 0 make_xor's would
    # be four points repeated (TensorFlow Playground's XOR fills the square).
    "xor": lambda n, noise, seed: make_xor(n, noise=0.35 + noise, seed=seed),
    # Two blobs at (±1, ±1), spread even without noise, as TensorFlow Playground's Gaussian data.
    "blobs": lambda n, noise, seed: make_blobs(
        n, centers=[[-1.0, -1.0], [1.0, 1.0]], std=0.35 + noise, seed=seed
    ),
    "spiral": lambda n, noise, seed: make_spiral(n, classes=2, noise=noise, seed=seed),
    "moons": lambda n, noise, seed: make_moons(n, noise=noise, seed=seed),
}


class Feature(NamedTuple):
    """An input the network may see: its label on the page and its value from the coordinates (x₁, x₂)."""

    label: str
    function: Callable[[Array, Array], Array]


FEATURES: dict[str, Feature] = {
    "x1": Feature("x₁", lambda x1, x2: x1),
    "x2": Feature("x₂", lambda x1, x2: x2),
    "x1sq": Feature("x₁²", lambda x1, x2: x1 * x1),
    "x2sq": Feature("x₂²", lambda x1, x2: x2 * x2),
    "x1x2": Feature("x₁x₂", lambda x1, x2: x1 * x2),
    "sinx1": Feature("sin x₁", lambda x1, x2: np.sin(x1)),
    "sinx2": Feature("sin x₂", lambda x1, x2: np.sin(x2)),
}

# The optimizers by name, each from (parameters, lr).
OPTIMIZERS: dict[str, Callable[[list[Value], float], Optimizer]] = {
    "sgd": lambda params, lr: SGD(params, lr=lr),
    "momentum": lambda params, lr: SGD(params, lr=lr, momentum=0.9),
    "adam": lambda params, lr: Adam(params, lr=lr),
}

# The penalty added to the loss, by name, from (weights, rate); "none" adds nothing.
REGULARIZATIONS: dict[str, Callable[[list[Value], float], Value] | None] = {
    "none": None,
    "l1": l1_penalty,
    "l2": l2_penalty,
}

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_SEED = 2**31 - 1
MAX_LAYERS, MAX_WIDTH = 6, 8


@dataclass(frozen=True)
class Settings:
    """Every control of the playground, checked when made: a Settings always describes a runnable session."""

    dataset: str = "circles"
    noise: float = 0.0
    points: int = 500
    train_percent: int = 50
    batch_size: int = 10
    data_seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    init: str = "xavier"
    init_seed: int = 0
    optimizer: str = "sgd"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0

    def __post_init__(self) -> None:
        checked = {
            "dataset": check_choice("Settings", "dataset", self.dataset, DATASETS),
            "noise": check_real("Settings", "noise", self.noise, "from 0 to 0.5", lambda x: 0.0 <= x <= 0.5),
            "points": check_int("Settings", "points", self.points, 50, most=2000),
            "train_percent": check_int("Settings", "train_percent", self.train_percent, 10, most=90),
            "batch_size": check_int("Settings", "batch_size", self.batch_size, 1, most=30),
            "data_seed": check_int("Settings", "data_seed", self.data_seed, 0, most=MAX_SEED),
            "features": _check_features(self.features),
            "hidden": _check_hidden(self.hidden),
            "activation": check_choice("Settings", "activation", self.activation, ACTIVATIONS),
            "init": check_choice("Settings", "init", self.init, INITS),
            "init_seed": check_int("Settings", "init_seed", self.init_seed, 0, most=MAX_SEED),
            "optimizer": check_choice("Settings", "optimizer", self.optimizer, OPTIMIZERS),
            "lr": _check_listed("lr", self.lr, LEARNING_RATES),
            "regularization": check_choice(
                "Settings", "regularization", self.regularization, REGULARIZATIONS
            ),
            "reg_rate": _check_listed("reg_rate", self.reg_rate, REG_RATES),
        }
        for name, value in checked.items():  # stored as plain Python values: ints, floats, tuples
            object.__setattr__(self, name, value)

    @property
    def n_train(self) -> int:
        """How many of the points are for training: points · train_percent / 100, rounded."""
        return round(self.points * self.train_percent / 100)

    def replace(self, **changes: Any) -> Settings:
        """A copy with the given fields changed, checked as a new Settings is."""
        unknown = [name for name in changes if name not in _FIELDS]
        if unknown:
            raise ValueError(
                f"Settings: unknown field {show(unknown[0])}; the fields are {', '.join(_FIELDS)}"
            )
        return dataclasses.replace(self, **changes)

    def to_query(self) -> str:
        """The settings as a URL query: dataset=circles&noise=0&...&hidden=4,2&features=x1,x2."""
        return urlencode([(name, _text(getattr(self, name))) for name in _FIELDS], safe=",")

    @classmethod
    def from_query(cls, params: Mapping[str, str | Sequence[str]]) -> Settings:
        """Settings from a parsed URL query (parse_qs(query, keep_blank_values=True), or plain strings).

        Missing keys take their defaults; `hidden=` (empty) is no hidden layer."""
        if not isinstance(params, Mapping):
            raise ValueError(
                f"Settings.from_query: params must be a mapping of name -> str, got {show(params)}"
            )
        values: dict[str, Any] = {}
        for name, given in params.items():
            if name not in _FIELDS:
                raise ValueError(
                    f"Settings: unknown field {show(name)} in the query; the fields are {', '.join(_FIELDS)}"
                )
            text = _one_string(name, given)
            values[name] = _parse(name, text, _FIELDS[name])
        return cls(**values)

    def to_json(self) -> str:
        """The settings as a JSON object, one entry per field."""
        return json.dumps({name: _plain(getattr(self, name)) for name in _FIELDS})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Settings from to_json()'s text; missing entries take their defaults."""
        try:
            document = json.loads(text)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Settings.from_json: not JSON text ({err})") from None
        if not isinstance(document, dict):
            raise ValueError(f"Settings.from_json: needs a JSON object, got {show(document)}")
        unknown = [name for name in document if name not in _FIELDS]
        if unknown:
            raise ValueError(
                f"Settings: unknown field {show(unknown[0])}; the fields are {', '.join(_FIELDS)}"
            )
        values: dict[str, Any] = {
            name: tuple(v) if isinstance(v, list) else v for name, v in document.items()
        }
        return cls(**values)


_FIELDS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}


# -- checks and the query's text ---------------------------------------------------------------------


def _check_features(value: object) -> tuple[str, ...]:
    names = _sequence("features", value)
    order = list(FEATURES)
    ok = (
        bool(names)
        and all(isinstance(name, str) and name in FEATURES for name in names)
        and len(set(names)) == len(names)
        and sorted(names, key=order.index) == names
    )
    if not ok:
        raise ValueError(
            f"Settings: features must be a non-empty subset, in this order, of {', '.join(order)}; "
            f"got {show(value)}"
        )
    return tuple(names)


def _check_hidden(value: object) -> tuple[int, ...]:
    widths = _sequence("hidden", value)
    if len(widths) > MAX_LAYERS or not all(is_int(n) and 1 <= int(n) <= MAX_WIDTH for n in widths):
        raise ValueError(
            f"Settings: hidden must be 0 to {MAX_LAYERS} layer widths, each an int from 1 to {MAX_WIDTH}; "
            f"got {show(value)}"
        )
    return tuple(int(n) for n in widths)


def _sequence(name: str, value: object) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(f"Settings: {name} must be a tuple, got {show(value)}")


def _check_listed(name: str, value: object, allowed: tuple[float, ...]) -> float:
    if is_real(value) and float(value) in allowed:
        return float(value)
    listed = ", ".join(f"{x:g}" for x in allowed)
    raise ValueError(f"Settings: {name} must be one of {listed}; got {show(value)}")


def _one_string(name: str, given: object) -> str:
    """A query value: a str, or parse_qs's list holding exactly one."""
    if isinstance(given, str):
        return given
    if isinstance(given, Sequence) and len(given) == 1 and isinstance(given[0], str):
        return given[0]
    raise ValueError(f"Settings: {name} must be given once, as text, in the query; got {show(given)}")


def _parse(name: str, text: str, default: object) -> object:
    """A query value read as its field's type (the default's); Settings checks the range after."""
    try:
        if isinstance(default, tuple):
            parts = [part.strip() for part in text.split(",")] if text.strip() else []
            return tuple(int(part) for part in parts) if name == "hidden" else tuple(parts)
        if isinstance(default, str):
            return text
        if isinstance(default, int):
            return int(text.strip())
        number = float(text)
        return number if math.isfinite(number) else text  # nan, inf: refused below, as the text given
    except ValueError:
        kind = "a list of ints" if name == "hidden" else "an int" if isinstance(default, int) else "a number"
        raise ValueError(f"Settings: {name} must be {kind}, got {show(text)}") from None


def _text(value: object) -> str:
    """A field's value as query text: 0.03, 4,2, circles (floats in their shortest exact form)."""
    if isinstance(value, tuple):
        return ",".join(map(_text, value))
    if isinstance(value, float):
        return repr(value).removesuffix(".0")  # repr is the shortest text that reads back exactly
    return str(value)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


# -- the recipe --------------------------------------------------------------------------------------


class Data(NamedTuple):
    """The points: standardized coordinates, the network's inputs (features), labels, the plane's extent."""

    train_xy: Array  # (n_train, 2) standardized coordinates
    test_xy: Array
    train_inputs: Array  # (n_train, len(features)): the network's inputs
    test_inputs: Array
    train_y: npt.NDArray[np.int64]
    test_y: npt.NDArray[np.int64]
    extent: float  # the plane shown is [−extent, extent]² in standardized coordinates


def make_data(settings: Settings) -> Data:
    """The dataset split by train_percent after the maker's shuffle, standardized by the training part."""
    X, y = DATASETS[settings.dataset](settings.points, settings.noise, settings.data_seed)
    n = settings.n_train
    train, mu, sigma = standardize(X[:n])
    test, _, _ = standardize(X[n:], mu, sigma)
    extent = 1.1 * float(max(np.abs(train).max(), np.abs(test).max()))
    return Data(
        train,
        test,
        features(train, settings.features),
        features(test, settings.features),
        y[:n],
        y[n:],
        extent,
    )


def features(xy: Array, names: Sequence[str]) -> Array:
    """The named features of each point (x₁, x₂): one column per name."""
    x1, x2 = xy[:, 0], xy[:, 1]
    return np.column_stack([FEATURES[name].function(x1, x2) for name in names])


def make_model(settings: Settings) -> MLP:
    """MLP(len(features), [*hidden, 1]) with the settings' activation and init, seeded by init_seed."""
    return MLP(
        len(settings.features),
        [*settings.hidden, 1],
        activation=settings.activation,
        output_activation="linear",
        init=settings.init,
        seed=settings.init_seed,
    )


def make_optimizer(settings: Settings, model: MLP) -> Optimizer:
    """The settings' optimizer over every parameter of model, at the settings' lr."""
    return OPTIMIZERS[settings.optimizer](model.parameters(), settings.lr)


def make_loss(settings: Settings, model: MLP) -> Callable[[Any, np.ndarray], Value]:
    """The training loss: the mean binary cross-entropy of the logits, plus the penalty on model's weights."""
    penalty = REGULARIZATIONS[settings.regularization]
    rate = settings.reg_rate
    # The weights only, as TensorFlow Playground regularizes: a bias shifts a boundary, it does not bend it.
    weights = [w for layer in model.layers for neuron in layer.neurons for w in neuron.w]

    def loss(logits: Any, labels: np.ndarray) -> Value:
        data = binary_cross_entropy(logits, labels)
        return data if penalty is None or rate == 0.0 else data + penalty(weights, rate)

    return loss
