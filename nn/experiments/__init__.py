"""The course's experiments, built on nn and never imported by it; micrograd's recipe is in .recipes.

Each returns a plain result that prints as a table; `python -m nn.experiments <name>` runs one at
full size (`--quick` at test size).
"""

from . import recipes
from .dead_neurons import DeadNeuronResult, SmallNetRun, SmallNets, dead_neuron_experiment, small_nets
from .freezing import (
    DenseFreezing,
    DenseWay,
    FreezingResult,
    FreezingRun,
    dense_flops,
    dense_layer_freezing,
    freezing_experiment,
    tape_step_parts,
)
from .initialization import InitComparison, InitRow, compare_inits, vanishing_gradients
from .lottery import LotteryResult, LotteryRound, Outcome, cut_off_units, lottery_ticket, seed_means
from .scaling import CauseRun, InputScaling, LrTrial, ScalingCauses, ScalingRun, input_scaling, scaling_causes

__all__ = [
    "CauseRun",
    "DeadNeuronResult",
    "DenseFreezing",
    "DenseWay",
    "FreezingResult",
    "FreezingRun",
    "InitComparison",
    "InitRow",
    "InputScaling",
    "LotteryResult",
    "LotteryRound",
    "LrTrial",
    "Outcome",
    "ScalingCauses",
    "ScalingRun",
    "SmallNetRun",
    "SmallNets",
    "compare_inits",
    "cut_off_units",
    "dead_neuron_experiment",
    "dense_flops",
    "dense_layer_freezing",
    "freezing_experiment",
    "input_scaling",
    "lottery_ticket",
    "recipes",
    "scaling_causes",
    "seed_means",
    "small_nets",
    "tape_step_parts",
    "vanishing_gradients",
]
