"""`python -m nn.experiments <name> [--quick]`, and nn never importing nn.experiments."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nn.experiments import __main__ as cli

PROG = "python -m nn.experiments"
NAMES = [
    "vanishing-gradients",
    "compare-inits",
    "input-scaling",
    "scaling-causes",
    "dead-neurons",
    "small-nets",
    "lottery-ticket",
    "freezing",
    "dense-freezing",
    "nielsen-gradients",
]


def test_importing_nn_and_every_nn_module_does_not_import_the_experiments() -> None:
    # nn.demo is an app, not the library: it may use the recipe. (pkgutil.walk_packages would import
    # every package it walks into, nn.experiments too, so the walk skips it by hand.)
    code = """
import importlib, pkgutil, sys
import nn

def load(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name not in ("nn.experiments", "nn.demo"):
            module = importlib.import_module(info.name)
            if info.ispkg:
                load(module)

load(nn)
print(sorted(name for name in sys.modules if name.startswith("nn.experiments")))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert run.stdout == "[]\n"


def test_help_lists_every_experiment_with_one_line_each() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "nn.experiments", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert run.stdout.startswith(f"usage: {PROG} [-h] [--quick] name")
    listed = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("  ") and line.split()]
    assert [name for name in listed if name in NAMES] == NAMES
    assert "--quick" in run.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["bogus"], "argument name: invalid choice: 'bogus' (choose from "),
        (["--quick"], "the following arguments are required: name"),
        (["freezing", "--steps", "3"], "unrecognized arguments: --steps 3"),
    ],
)
def test_a_bad_name_or_option_exits_2_with_argparses_message(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(args)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"usage: {PROG} ")
    assert captured.err.splitlines()[-1].startswith(f"{PROG}: error: {error}")
    assert captured.out == ""


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("vanishing-gradients", ["Gradient flow (weights;", "layer 4   16→1   linear"]),
        ("compare-inits", ["Gradients at init, MLP(2, [16]*4 + [1])", "over seeds 0..2:", "relu + 4 × He"]),
        pytest.param(
            "input-scaling",
            ["Moons × 100, MLP(2, [16, 16, 1]), 30 steps", "raw × 100"],
            marks=pytest.mark.slow,
        ),
        pytest.param("dead-neurons", ["dead ReLU units at init", "pruned"], marks=pytest.mark.slow),
        pytest.param("lottery-ticket", ["'seed': 1", "mean over 2 seeds"], marks=pytest.mark.slow),
        pytest.param("freezing", ["MLP(2, [6, 6, 1])", "threshold 0.01: ["], marks=pytest.mark.slow),
        pytest.param(
            "scaling-causes",
            ["offset + 100", "SGD at the largest stable lr, 10 steps", "feature 1 × 100"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "small-nets",
            ["make_moons(30, noise=0.1)", "make_xor(30, noise=0.1)", "[2, 2]", "≥100% after 10"],
            marks=pytest.mark.slow,
        ),
        ("dense-freezing", ["One dense 100x100 layer, batch 16, numpy float32", "whole layer frozen"]),
        pytest.param(
            "nielsen-gradients",
            ["averaged over 100 training digits; 2 seeds", "[64, 30, 30, 30, 30, 10]", "0.2850"],
            marks=pytest.mark.slow,
        ),
    ],
)
def test_each_experiment_runs_quick_and_prints_its_tables_and_time(
    name: str, says: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([name, "--quick"]) == 0
    captured = capsys.readouterr()
    assert all(text in captured.out for text in says), captured.out
    assert captured.out.splitlines()[-1].endswith(" s)")
    assert captured.err == ""
