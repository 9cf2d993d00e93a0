"""The course's experiments, built on nn and never imported by it; micrograd's recipe is in .recipes.

Each returns a plain result that prints as a table; `python -m nn.experiments <name>` runs one at
full size (`--quick` at test size).
"""

from . import recipes
from .dead_neurons import DeadNeuronResult, dead_neuron_experiment
from .freezing import FreezingResult, FreezingRun, freezing_experiment
from .initialization import InitComparison, InitRow, compare_inits, vanishing_gradients
from .lottery import LotteryResult, LotteryRound, Outcome, lottery_ticket, seed_means
from .scaling import CauseRun, InputScaling, LrTrial, ScalingCauses, ScalingRun, input_scaling, scaling_causes

__all__ = [
    "CauseRun",
    "DeadNeuronResult",
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
    "compare_inits",
    "dead_neuron_experiment",
    "freezing_experiment",
    "input_scaling",
    "lottery_ticket",
    "recipes",
    "scaling_causes",
    "seed_means",
    "vanishing_gradients",
]
