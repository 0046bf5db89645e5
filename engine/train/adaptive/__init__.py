"""Residual-based adaptive sampling (``training.sampler=rad|rar_d``) of interior constraints.

:func:`adapt_terms` swaps the batch source of each adapted loss term (an included, trained
interior constraint that is not an integral) for one that scores a candidate pool with the
current networks; boundary, integral and data terms keep their ordinary draws.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping

import numpy as np
import torch

from ...compile import NetworkBinding
from ...config.adaptive import adapted_constraints, is_adaptive
from ...errors import MtcError
from ...problem import Problem
from ..terms import LossTerm, subdomain_draw
from .pool import ResidualPool, Rows, residual_scores
from .registry import SAMPLERS, AdaptiveDraw

__all__ = ["AdaptiveSampling", "adapt_terms"]


@dataclass
class AdaptiveSampling:
    """The adapted constraints' batch sources: their current points, and their state for a checkpoint."""

    sampler: str
    draws: dict[str, AdaptiveDraw]

    def points(self) -> dict[str, Rows]:
        """Each adapted constraint's batch last drawn (column -> values)."""
        return {name: dict(draw.points) for name, draw in self.draws.items()}

    def state(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "draws": {name: draw.state() for name, draw in self.draws.items()}}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Continue from a checkpoint's state (rar_d's added points); another sampler's state is ignored."""
        if state and state.get("sampler") == self.sampler:
            for name, saved in state["draws"].items():
                if name in self.draws:
                    self.draws[name].restore(saved)


def adapt_terms(
    problem: Problem,
    config: Mapping[str, Any],
    terms: list[Any],
    bindings: Mapping[str, NetworkBinding],
    rng: np.random.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[list[Any], AdaptiveSampling | None]:
    """``terms`` with adaptive batch sources where ``training.sampler`` asks for them (else unchanged, None)."""
    training = config["training"]
    if not is_adaptive(training):
        return terms, None
    settings, sampler = training["rad"], training["sampler"]
    names = set(adapted_constraints(config, problem.outline()))
    adapted, draws = [], {}
    for term in terms:
        if isinstance(term, LossTerm) and term.name in names:
            pool = ResidualPool(
                subdomain_draw(problem, term.name, settings["pool"], rng, settings["pool_sampler"], training["sampled"]),
                partial(residual_scores, term, bindings, dtype=dtype, device=device),
                settings["k"], settings["c"], rng,
            )  # fmt: skip
            batch_size = config["constraints"][term.name]["batch_size"]
            draws[term.name] = SAMPLERS[sampler](pool, term.draw, batch_size, settings)
            term = dataclasses.replace(term, draw=draws[term.name])
        adapted.append(term)
    if not draws:
        raise MtcError(
            f"training.sampler={sampler}: no interior constraint to adapt (integral constraints keep their draws); "
            "set training.sampler=uniform (or sobol, halton)"
        )
    return adapted, AdaptiveSampling(sampler, draws)
