"""nn.experiments.dead_neurons.small_nets: small nets from scratch, many seeds, one recipe, success rates."""

from __future__ import annotations

import pytest

from nn.experiments import recipes
from nn.experiments.dead_neurons import SmallNets, small_nets
from nn.losses import hinge_loss
from nn.module import MLP
from nn.optim import SGD, Adam
from nn.pruning import dead_neurons
from nn.train import accuracy, fit, predict

DATA = recipes.moons(24)


@pytest.fixture(scope="module")
def result() -> SmallNets:
    return small_nets(DATA.X, DATA.y, [[6], [2, 2]], seeds=[0, 3], steps=6, checkpoints=[2, 6], lr=0.5)


def test_each_run_is_fit_with_the_recipe_and_its_checkpoints_are_shorter_fits(result: SmallNets) -> None:
    y = DATA.y * 2 - 1
    for row in result.runs:
        for run in row:
            accuracies = []
            for steps in result.checkpoints:  # a fresh run of k steps: the accuracy after k steps
                model = MLP(2, [*run.widths, 1], seed=run.seed)
                fit(model, DATA.X, y, hinge_loss, SGD(model.parameters(), lr=0.5), steps, progress=False)
                accuracies.append(accuracy(predict(model, DATA.X), y))
            assert run.accuracy == accuracies
            assert run.state == model.state_dict()
            assert run.dead == len(dead_neurons(model, DATA.X))
    assert [[r.seed for r in row] for row in result.runs] == [[0, 3], [0, 3]]
    assert result.parameters == [len(MLP(2, [6, 1]).parameters()), len(MLP(2, [2, 2, 1]).parameters())]


def test_successes_count_the_runs_at_the_target_and_the_table_shows_them(result: SmallNets) -> None:
    for i, row in enumerate(result.runs):
        for c in range(2):
            assert result.successes(i, c) == sum(r.accuracy[c] >= 1.0 for r in row)
    lines = str(result).splitlines()
    assert lines[0].startswith("small nets from scratch:") and "'steps': 6" in lines[0]
    assert lines[2].startswith("  mean steps: the first such k")
    assert lines[3].split()[:2] == ["hidden", "parameters"]
    for i, (line, params) in enumerate(zip(lines[4:], result.parameters)):
        cells = line.split("]")[1].split()  # after the widths: parameters, then one count per checkpoint
        assert cells[:3] == [str(params), f"{result.successes(i, 0)}/2", f"{result.successes(i, 1)}/2"]


def test_a_lower_target_counts_more_successes_and_steps_to_target_is_the_first_step() -> None:
    easy = small_nets(DATA.X, DATA.y, [[4]], seeds=[0, 1], steps=5, target=0.5, X_test=DATA.X, y_test=DATA.y)
    for run in easy.runs[0]:
        assert run.steps_to_target is not None and 1 <= run.steps_to_target <= 5
        assert run.test_accuracy == run.accuracy[-1]  # tested on the training points: the same number
    assert easy.successes(0) == 2
    assert "mean test acc." in str(easy)


def test_labels_as_zero_one_or_plus_minus_one_and_adam_as_the_optimizer() -> None:
    zero_one = small_nets(DATA.X, DATA.y, [[3]], seeds=[1], steps=4, lr=0.05, optimizer="adam")
    signs = small_nets(DATA.X, DATA.y * 2 - 1, [[3]], seeds=[1], steps=4, lr=0.05, optimizer="adam")
    assert zero_one.runs == signs.runs
    model = MLP(2, [3, 1], seed=1)
    fit(model, DATA.X, DATA.y * 2 - 1, hinge_loss, Adam(model.parameters(), lr=0.05), 4, progress=False)
    assert zero_one.runs[0][0].state == model.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architectures": []}, "small_nets: needs at least one architecture and one seed"),
        ({"seeds": []}, "small_nets: needs at least one architecture and one seed"),
        ({"architectures": [[2, 0]]}, "small_nets: widths[1] must be a positive int, got 0"),
        ({"checkpoints": [3, 9]}, "small_nets: checkpoints[1] must be"),
        ({"optimizer": "rmsprop"}, "small_nets: optimizer must be 'sgd' or 'adam', got 'rmsprop'"),
        ({"target": 1.5}, "small_nets: target must be a finite number in [0, 1], got 1.5"),
        ({"lr": 0}, "small_nets: lr must be"),
    ],
)
def test_small_nets_refuses_bad_arguments_naming_them(kwargs: dict, message: str) -> None:
    args = {"architectures": [[2]], "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        small_nets(DATA.X, DATA.y, **args)
