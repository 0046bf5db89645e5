"""Levenberg-Marquardt (``optimizer.name=lm``) with adaptive damping and a backtracking step.

Each step: the Jacobian ``J`` of the stacked residuals ``r`` once; then trials of the damped
Gauss-Newton step ``(J^T J + lambda I) d = -J^T r``, each tried at lengths 1, 1/2, 1/4, 1/8
(the first that lowers the loss is taken). A taken step divides lambda by 3 for the next
step, down to 1e-15 of the largest diagonal entry of ``J^T J``; a trial that lowers the loss
at no length multiplies lambda by 2, 4, 8, ... (Nielsen's growth) and is solved again.
Without the backtracking, plain LM on small tanh PINNs stalled near a loss of 1e-8 with
lambda stuck around 1e-6 of that diagonal: full steps at less damping raised the loss.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import torch

from .gauss_newton import GaussNewton, ResidualClosure
from .least_squares import StackedResiduals

LOWEST = 1e-15  # damping never falls below this times the largest diagonal entry of J^T J
LENGTHS = (1.0, 0.5, 0.25, 0.125)
SHRINK = 3.0


class LevenbergMarquardt(GaussNewton):
    """Levenberg-Marquardt on the trainable parameters."""

    name = "lm"

    def __init__(self, params: Iterable[torch.nn.Parameter], settings: Mapping[str, Any]):
        super().__init__(params, settings)
        self.initial = settings["damping"]
        self.max_tries = settings["max_tries"]
        self.growth = 2.0

    def step(self, closure: ResidualClosure) -> torch.Tensor:  # type: ignore[override]
        system, vector, jac = self.start(closure)
        loss = float(vector.square().sum())
        grad = jac.T @ vector
        gram = self.gram(jac)
        scale = float(gram.diagonal().max() if gram is not None else jac.square().sum(0).max())
        if self.damping <= 0.0:
            self.damping = self.initial * scale
        self.step_size = 0.0
        for _ in range(self.max_tries):
            delta = self.solve(jac, gram, grad, self.damping)
            length = None if delta is None else _first_length_that_lowers(system, delta, loss)
            if delta is not None and length is not None:
                self.apply(length * delta)
                self.damping = max(self.damping / SHRINK, LOWEST * scale)
                self.growth, self.step_size = 2.0, length
                break
            self.damping *= self.growth
            self.growth *= 2.0
        return torch.tensor(loss)

    def carry(self) -> dict[str, float]:
        return {"damping": self.damping, "growth": self.growth}

    def resume(self, saved: Mapping[str, float]) -> None:
        super().resume(saved)
        self.growth = float(saved.get("growth", self.growth))


def _first_length_that_lowers(system: StackedResiduals, delta: torch.Tensor, loss: float) -> float | None:
    for length in LENGTHS:
        trial = float(system.vector(system.shifted(length * delta)).square().sum())
        if math.isfinite(trial) and trial < loss:
            return length
    return None


def build(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=lm``."""
    return LevenbergMarquardt(params, config)
