"""Energy natural gradient (``optimizer.name=engd``; Müller & Zeinhofer, ICML 2023).

For a least-squares loss, the natural gradient in function space is the Gauss-Newton
direction: the loss gradient ``J^T r`` preconditioned by the Gramian ``G = J^T J`` (with a
small relative regularisation, ``damping``). The step length is chosen by a line search on a
logarithmic grid ``1, 1/2, ..., 2^-(n-1)``: the grid point with the lowest loss is taken. When
no grid point lowers the loss (a nearly singular Gramian solved at too little regularisation),
the regularisation grows 100x and the step is solved again; successful steps shrink it back.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import torch

from .gauss_newton import GaussNewton, ResidualClosure

RETRIES = 8  # solves per step: each failed one (no factorisation, or no grid step lowers the loss) ...
BOOST = 100.0  # ... multiplies the regularisation by this; a successful step divides it again (down to damping)


class EnergyNaturalGradient(GaussNewton):
    """ENGD on the trainable parameters."""

    name = "engd"

    def __init__(self, params: Iterable[torch.nn.Parameter], settings: Mapping[str, Any]):
        super().__init__(params, settings)
        self.relative = settings["damping"]
        self.grid = [0.5**k for k in range(settings["line_search_points"])]
        self.boost = 1.0

    def step(self, closure: ResidualClosure) -> torch.Tensor:  # type: ignore[override]
        system, vector, jac = self.start(closure)
        loss = float(vector.square().sum())
        grad = jac.T @ vector
        gram = self.gram(jac)
        mean = float(gram.diagonal().mean() if gram is not None else jac.square().sum(0).mean())
        self.step_size = 0.0
        for _ in range(RETRIES):
            self.damping = self.relative * self.boost * mean
            delta = self.solve(jac, gram, grad, self.damping)
            if delta is not None:
                trials = [float(system.vector(system.shifted(eta * delta)).square().sum()) for eta in self.grid]
                best = min(range(len(trials)), key=lambda i: trials[i] if math.isfinite(trials[i]) else math.inf)
                if trials[best] < loss:
                    self.step_size = self.grid[best]
                    self.apply(self.step_size * delta)
                    self.boost = max(1.0, self.boost / BOOST)
                    break
            self.boost *= BOOST
        return torch.tensor(loss)

    def carry(self) -> dict[str, float]:
        return {"damping": self.damping, "boost": self.boost}

    def resume(self, saved: Mapping[str, float]) -> None:
        super().resume(saved)
        self.boost = float(saved.get("boost", self.boost))


def build(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=engd``."""
    return EnergyNaturalGradient(params, config)
