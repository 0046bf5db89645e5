"""Learning-rate annealing (Wang, Teng & Perdikaris 2021): weights from ratios of gradient statistics.

On each update, with ``g_i`` the gradient of term i's raw loss and ``w_i`` its current weight,
the reference term is the one with the largest entry of ``w_i |g_i|`` (the PDE residual, in
their setting) and keeps weight 1; every other term's estimate is
``max(w_ref |g_ref|) / mean(w_i |g_i|)`` (their Algorithm 1: the mean of the *weighted*
gradient, which settles the weight instead of letting a well-fitted term's shrinking gradient
raise it without bound). The weights follow a moving average:
``w = (1 - balance_alpha) w + balance_alpha * estimate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import Balancer


class LrAnnealing(Balancer):
    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        index = self.index
        current = self.weights[index]
        grads = [w * g.abs() for w, g in zip(current, self.raw_gradients(losses, parameters))]
        peaks = torch.stack([g.max() for g in grads])
        reference = int(peaks.argmax())
        means = torch.stack([g.mean() for g in grads])
        estimate = torch.where(means > 0, peaks[reference] / means.clamp_min(1e-300), current)
        estimate[reference] = 1.0
        alpha = self.settings["balance_alpha"]
        self.weights[index] = (1 - alpha) * current + alpha * estimate
