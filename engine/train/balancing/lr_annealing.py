"""Learning-rate annealing (Wang, Teng & Perdikaris 2021): weights from ratios of gradient statistics.

The reference term (the PDE residual, in their setting) is the term with the largest gradient
entry at the first update; it keeps weight 1 for the whole stage. On each update, with ``g_i``
the gradient of term i's raw loss and ``w_i`` its current weight, every other term's estimate
is ``max|g_ref| / mean(w_i |g_i|)`` (their Algorithm 1: the mean of the *weighted* gradient,
which settles the weight instead of letting a well-fitted term's shrinking gradient raise it
without bound). The weights follow a moving average:
``w = (1 - balance_alpha) w + balance_alpha * estimate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .base import Balancer


class LrAnnealing(Balancer):
    term_gradients = True
    reference: int | None = None  # position among the balanced terms

    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        index = self.index
        current = self.weights[index]
        grads = [g.abs() for g in self.raw_gradients(losses, parameters)]
        if self.reference is None:
            self.reference = int(torch.stack([g.max() for g in grads]).argmax())
        means = torch.stack([w * g.mean() for w, g in zip(current, grads)])
        estimate = torch.where(means > 0, grads[self.reference].max() / means.clamp_min(1e-300), current)
        estimate[self.reference] = 1.0
        alpha = self.settings["balance_alpha"]
        self.weights[index] = (1 - alpha) * current + alpha * estimate

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "reference": self.reference}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if state.get("names") == self.names:
            self.reference = state.get("reference")
