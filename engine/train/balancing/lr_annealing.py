"""Learning-rate annealing (Wang, Teng & Perdikaris 2021): weights from ratios of gradient statistics.

On each update, the reference term is the one with the largest gradient entry (the PDE
residual, in their setting); every other term gets ``max|grad L_ref| / mean|grad L_i|`` and
the reference keeps 1. The weights follow a moving average:
``w = (1 - balance_alpha) w + balance_alpha * estimate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import Balancer


class LrAnnealing(Balancer):
    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        grads = [g.abs() for g in self.raw_gradients(losses, parameters)]
        peaks = torch.stack([g.max() for g in grads])
        reference = int(peaks.argmax())
        means = torch.stack([g.mean() for g in grads])
        estimate = torch.where(means > 0, peaks[reference] / means.clamp_min(1e-300), torch.ones_like(means))
        estimate[reference] = 1.0
        alpha = self.settings["balance_alpha"]
        index = self.index
        self.weights[index] = (1 - alpha) * self.weights[index] + alpha * estimate
