"""backprop-lab's autodiff engine: scalar Values that record their graph, and backward through it."""

from .gradcheck import GradcheckReport, gradcheck, numerical_grad
from .graph import (
    BackwardStep,
    BackwardWork,
    PerExampleGrads,
    backward,
    backward_steps,
    backward_work,
    per_example_grads,
    topo_order,
    zero_grad,
)
from .modes import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    is_tagging_scopes,
    no_grad,
    scope,
    scope_of,
    set_grad_enabled,
    tag_scopes,
)
from .value import Value

__all__ = [
    "BackwardStep",
    "BackwardWork",
    "GradcheckReport",
    "PerExampleGrads",
    "Value",
    "backward",
    "backward_steps",
    "backward_work",
    "detect_anomaly",
    "enable_grad",
    "gradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_tagging_scopes",
    "no_grad",
    "numerical_grad",
    "per_example_grads",
    "scope",
    "scope_of",
    "set_grad_enabled",
    "tag_scopes",
    "topo_order",
    "zero_grad",
]
