"""Loss-balancing names (``training.loss_balancing``) -> balancer classes, and :func:`build_balancer`.

The names are the schema's :data:`engine.config.schema.LOSS_BALANCING`; importing this module
checks that both list the same names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...config.schema import LOSS_BALANCING
from .base import Balancer
from .gradnorm import GradNorm
from .lr_annealing import LrAnnealing
from .relobralo import ReLoBRaLo
from .self_adaptive import SelfAdaptive

BALANCERS: dict[str, type[Balancer]] = {
    "none": Balancer,
    "lr_annealing": LrAnnealing,
    "gradnorm": GradNorm,
    "relobralo": ReLoBRaLo,
    "self_adaptive": SelfAdaptive,
}

if set(BALANCERS) != set(LOSS_BALANCING):  # a new method needs both a balancer and its schema choice
    raise ImportError(f"loss-balancing registry {sorted(BALANCERS)} differs from the schema's {sorted(LOSS_BALANCING)}")


def build_balancer(training: Mapping[str, Any], terms: Sequence[Any], saved: Mapping[str, Any] | None = None) -> Balancer:
    """The balancer ``training["loss_balancing"]`` names over ``terms``, continuing ``saved`` (a resumed stage's state)."""
    balancer = BALANCERS[training["loss_balancing"]](terms, training)
    if saved:
        balancer.load_state_dict(saved)
    return balancer
