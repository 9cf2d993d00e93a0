"""nn.playground.settings: the controls as a URL query and JSON, their checks, and the recipe they make."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest

import nn.playground
from engine import Value
from nn import binary_cross_entropy
from nn.activations import ACTIVATIONS
from nn.init import INITS
from nn.playground import Settings
from nn.playground.settings import (
    DATASETS,
    FEATURES,
    LEARNING_RATES,
    OPTIMIZERS,
    REG_RATES,
    REGULARIZATIONS,
    features,
    make_data,
    make_loss,
    make_model,
)

# -- the URL query and JSON round trips ---------------------------------------------------------------

VARIANTS = [
    Settings(),
    Settings(dataset="spiral", noise=0.5, points=2000, train_percent=90, batch_size=30),
    Settings(
        dataset="xor", noise=0.123456789, points=50, train_percent=10, batch_size=1, data_seed=2**31 - 1
    ),
    Settings(features=("x1", "x1sq", "sinx2"), hidden=(), activation="relu", init="he", init_seed=7),
    Settings(features=("x1x2",), hidden=(8, 8, 8, 8, 8, 8), activation="sigmoid", init="uniform"),
    Settings(dataset="moons", optimizer="adam", lr=0.00001, regularization="l1", reg_rate=0.001),
    Settings(dataset="blobs", optimizer="momentum", lr=10, regularization="l2", reg_rate=10),
]


@pytest.mark.parametrize("settings", VARIANTS, ids=lambda s: s.to_query()[:60])
def test_query_round_trips_through_parse_qs(settings: Settings) -> None:
    query = settings.to_query()
    assert Settings.from_query(parse_qs(query, keep_blank_values=True)) == settings
    plain = {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}
    assert Settings.from_query(plain) == settings  # plain strings, as a dict of one value per key


@pytest.mark.parametrize("settings", VARIANTS, ids=lambda s: s.to_query()[:60])
def test_json_round_trips(settings: Settings) -> None:
    text = settings.to_json()
    assert isinstance(json.loads(text), dict)
    assert Settings.from_json(text) == settings


def test_the_query_reads_as_a_person_would_write_it() -> None:
    query = Settings(hidden=(4, 2), features=("x1", "x2"), lr=0.03).to_query()
    assert "hidden=4,2" in query
    assert "features=x1,x2" in query
    assert "lr=0.03" in query
    assert "dataset=circles" in query
    assert "hidden=&" in Settings(hidden=()).to_query() + "&"  # no hidden layer: an empty value


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, Settings()),
        ({"hidden": ""}, Settings(hidden=())),
        ({"hidden": "3"}, Settings(hidden=(3,))),
        ({"hidden": "8, 1"}, Settings(hidden=(8, 1))),
        ({"features": "x2,sinx1"}, Settings(features=("x2", "sinx1"))),
        ({"lr": "1e-5", "reg_rate": "3"}, Settings(lr=0.00001, reg_rate=3.0)),
        ({"noise": "0.25", "points": "1000"}, Settings(noise=0.25, points=1000)),
        ({"dataset": ["xor"]}, Settings(dataset="xor")),
    ],
    ids=lambda q: str(q)[:40],
)
def test_from_query_reads_values_and_defaults_the_rest(query: dict, expected: Settings) -> None:
    assert Settings.from_query(query) == expected


# -- every bad value refused, naming Settings, the field and the value ------------------------------------

BAD_QUERIES = [
    ({"dataset": "iris"}, "dataset", "'iris'", "'circles'"),
    ({"noise": "0.6"}, "noise", "0.6", "from 0 to 0.5"),
    ({"noise": "-0.1"}, "noise", "-0.1", "from 0 to 0.5"),
    ({"noise": "nan"}, "noise", "'nan'", "from 0 to 0.5"),
    ({"noise": "loud"}, "noise", "'loud'", "a number"),
    ({"points": "49"}, "points", "49", "from 50 to 2000"),
    ({"points": "2001"}, "points", "2001", "from 50 to 2000"),
    ({"points": "100.5"}, "points", "'100.5'", "an int"),
    ({"train_percent": "95"}, "train_percent", "95", "from 10 to 90"),
    ({"batch_size": "0"}, "batch_size", "0", "from 1 to 30"),
    ({"batch_size": "31"}, "batch_size", "31", "from 1 to 30"),
    ({"data_seed": "-1"}, "data_seed", "-1", "from 0 to 2147483647"),
    ({"data_seed": str(2**31)}, "data_seed", "2147483648", "from 0 to 2147483647"),
    ({"features": ""}, "features", "()", "non-empty subset"),
    ({"features": "x2,x1"}, "features", "('x2', 'x1')", "in this order"),
    ({"features": "x1,x1"}, "features", "('x1', 'x1')", "subset"),
    ({"features": "x3"}, "features", "('x3',)", "x1, x2, x1sq"),
    ({"hidden": "9"}, "hidden", "(9,)", "each an int from 1 to 8"),
    ({"hidden": "0"}, "hidden", "(0,)", "each an int from 1 to 8"),
    ({"hidden": "1,1,1,1,1,1,1"}, "hidden", "(1, 1, 1, 1, 1, 1, ...)", "0 to 6 layer"),  # show() cuts at 6
    ({"hidden": "4,two"}, "hidden", "'4,two'", "a list of ints"),
    ({"activation": "gelu"}, "activation", "'gelu'", "'relu'"),
    ({"init": "zeros"}, "init", "'zeros'", "'xavier'"),
    ({"init_seed": "x"}, "init_seed", "'x'", "an int"),
    ({"optimizer": "rmsprop"}, "optimizer", "'rmsprop'", "'adam'"),
    ({"lr": "0.05"}, "lr", "0.05", "one of 1e-05, 0.0001"),
    ({"lr": "100"}, "lr", "100", "one of"),
    ({"regularization": "l3"}, "regularization", "'l3'", "'l1'"),
    ({"reg_rate": "0.002"}, "reg_rate", "0.002", "one of 0, 0.001"),
    ({"speed": "fast"}, "speed", "'speed'", "the fields are dataset"),
    ({"dataset": ["xor", "moons"]}, "dataset", "['xor', 'moons']", "given once"),
]


@pytest.mark.parametrize(("query", "field", "value", "allowed"), BAD_QUERIES, ids=[b[1] for b in BAD_QUERIES])
def test_a_bad_query_is_refused_naming_settings_the_field_the_value_and_what_is_allowed(
    query: dict, field: str, value: str, allowed: str
) -> None:
    with pytest.raises(ValueError) as err:
        Settings.from_query(query)
    message = str(err.value)
    assert message.startswith("Settings")
    for text in (field, value, allowed):
        assert text in message


BAD_FIELDS = [
    ({"noise": 0.7}, "noise"),
    ({"noise": math.inf}, "noise"),
    ({"points": 500.0}, "points"),
    ({"points": True}, "points"),
    ({"batch_size": "10"}, "batch_size"),
    ({"features": ["x1", "x2"]}, None),  # a list is read as the tuple it lists: accepted
    ({"features": "x1"}, "features"),
    ({"hidden": (4, 2.5)}, "hidden"),
    ({"hidden": 4}, "hidden"),
    ({"lr": 0.02}, "lr"),
    ({"lr": "0.03"}, "lr"),
    ({"reg_rate": -1}, "reg_rate"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_FIELDS, ids=[str(b[0]) for b in BAD_FIELDS])
def test_the_constructor_and_replace_check_every_field(changes: dict, field: str | None) -> None:
    if field is None:
        assert Settings(**changes) == Settings().replace(**changes)
        return
    for make in (lambda: Settings(**changes), lambda: Settings().replace(**changes)):
        with pytest.raises(ValueError, match=f"^Settings: .*{field}"):
            make()


def test_replace_changes_only_what_it_is_given_and_refuses_unknown_fields() -> None:
    settings = Settings().replace(dataset="xor", hidden=[3])
    assert (settings.dataset, settings.hidden, settings.lr) == ("xor", (3,), 0.03)
    with pytest.raises(ValueError, match="Settings: unknown field 'depth'"):
        Settings().replace(depth=3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "Settings.from_json: not JSON text"),
        ("[1, 2]", "Settings.from_json: needs a JSON object, got [1, 2]"),
        ('{"depth": 3}', "Settings: unknown field 'depth'"),
        ('{"lr": 5}', "Settings: lr must be one of"),
    ],
)
def test_from_json_refuses_what_is_not_settings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        Settings.from_json(text)


# -- the data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize(("points", "percent"), [(500, 50), (50, 10), (2000, 90), (123, 33)])
def test_each_dataset_gives_two_classes_split_by_train_percent(
    dataset: str, points: int, percent: int
) -> None:
    settings = Settings(dataset=dataset, points=points, train_percent=percent, noise=0.1)
    data = make_data(settings)
    n_train = round(points * percent / 100)
    assert len(data.train_y) == len(data.train_xy) == len(data.train_inputs) == n_train
    assert len(data.test_y) == len(data.test_xy) == len(data.test_inputs) == points - n_train
    assert set(np.concatenate([data.train_y, data.test_y]).tolist()) == {0, 1}


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_points_are_standardized_by_the_training_part_and_the_extent_holds_them(dataset: str) -> None:
    data = make_data(Settings(dataset=dataset, noise=0.2))
    np.testing.assert_allclose(data.train_xy.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.train_xy.std(axis=0), 1.0, rtol=1e-12)
    biggest = max(np.abs(data.train_xy).max(), np.abs(data.test_xy).max())
    assert data.extent == pytest.approx(1.1 * biggest, rel=1e-15)


def test_the_same_settings_give_the_same_points_and_a_new_seed_new_ones() -> None:
    a, b = make_data(Settings(noise=0.1)), make_data(Settings(noise=0.1))
    c = make_data(Settings(noise=0.1, data_seed=1))
    assert np.array_equal(a.train_xy, b.train_xy) and np.array_equal(a.test_y, b.test_y)
    assert not np.array_equal(a.train_xy, c.train_xy)


FORMULAS = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1sq": lambda x1, x2: x1**2,
    "x2sq": lambda x1, x2: x2**2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sinx1": lambda x1, x2: math.sin(x1),
    "sinx2": lambda x1, x2: math.sin(x2),
}


@pytest.mark.parametrize("name", list(FEATURES))
def test_each_feature_is_computed_from_the_standardized_coordinates(name: str) -> None:
    data = make_data(Settings(dataset="moons", noise=0.1, features=(name,)))
    for xy, inputs in zip(data.train_xy[:20], data.train_inputs[:20]):
        assert inputs.tolist() == pytest.approx([FORMULAS[name](*xy)], rel=1e-15)


def test_features_come_in_the_order_settings_lists_them() -> None:
    xy = np.array([[0.5, -2.0], [1.5, 3.0]])
    names = ("x1", "x2sq", "x1x2", "sinx2")
    expected = [[FORMULAS[name](*row) for name in names] for row in xy.tolist()]
    np.testing.assert_allclose(features(xy, names), expected, rtol=1e-15)


# -- the model and the loss -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(hidden=(), features=("x1",)),
        Settings(hidden=(8, 1, 3), activation="relu", init="he"),
    ],
)
def test_the_model_has_an_input_per_feature_the_hidden_layers_and_one_linear_output(
    settings: Settings,
) -> None:
    model = make_model(settings)
    assert model.sizes == [len(settings.features), *settings.hidden, 1]
    assert [layer.activation for layer in model.layers] == [settings.activation] * len(settings.hidden) + [
        "linear"
    ]
    assert make_model(settings).state_dict() == model.state_dict()  # seeded by init_seed
    assert make_model(settings.replace(init_seed=1)).state_dict() != model.state_dict()


@pytest.mark.parametrize(
    ("regularization", "rate", "penalty"),
    [
        ("none", 1.0, lambda ws: 0.0),
        ("l1", 0.0, lambda ws: 0.0),
        ("l1", 0.3, lambda ws: 0.3 * sum(abs(w) for w in ws)),
        ("l2", 0.3, lambda ws: 0.3 * sum(w * w for w in ws)),
    ],
)
def test_the_loss_is_the_mean_bce_plus_the_penalty_on_the_weights(regularization, rate, penalty) -> None:
    settings = Settings(regularization=regularization, reg_rate=rate)
    model = make_model(settings)
    for neuron in (n for layer in model.layers for n in layer.neurons):
        neuron.b.data = 0.5  # biases are not regularized: a nonzero one must not count
    logits, labels = Value(np.array([0.3, -1.2, 2.0])), np.array([1, 0, 0])
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    expected = binary_cross_entropy(Value(logits.data), labels).data + penalty(weights)
    assert make_loss(settings, model)(logits, labels).data == pytest.approx(expected, rel=1e-14)


# -- the page's controls offer exactly what Settings accepts ----------------------------------------------

_SELECTS = [
    ("dataset", list(DATASETS)),
    ("activation", list(ACTIVATIONS)),
    ("init", list(INITS)),
    ("optimizer", list(OPTIMIZERS)),
    ("regularization", list(REGULARIZATIONS)),
    ("lr", list(LEARNING_RATES)),
    ("reg_rate", list(REG_RATES)),
]


class _Selects(HTMLParser):
    """The page's <select data-setting=...> elements: each one's option values, and which is selected."""

    def __init__(self) -> None:
        super().__init__()
        self.options: dict[str, list[str]] = {}
        self.selected: dict[str, str] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "select":
            self._current = found.get("data-setting")
            if self._current:
                self.options[self._current] = []
        elif tag == "option" and self._current:
            self.options[self._current].append(found["value"] or "")
            if "selected" in found:
                self.selected[self._current] = found["value"] or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._current = None


@pytest.mark.parametrize(("field", "allowed"), _SELECTS, ids=[field for field, _ in _SELECTS])
def test_the_pages_choices_are_the_settings_choices_with_the_default_selected(
    field: str, allowed: list[Any]
) -> None:
    """The page's option lists are a copy of Settings' tables (its HTML is static): they must agree."""
    page = _Selects()
    page.feed((Path(nn.playground.__file__).parent / "static" / "index.html").read_text(encoding="utf-8"))
    # Each option's value, read back as Settings reads a query, is the table's value, in its order.
    read = [getattr(Settings.from_query({field: value}), field) for value in page.options[field]]
    assert read == allowed
    assert getattr(Settings.from_query({field: page.selected[field]}), field) == getattr(Settings(), field)
