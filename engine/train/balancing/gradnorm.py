"""GradNorm (Chen et al. 2018): weights trained so every term's weighted gradient norm trains at its pace.

With ``G_i = w_i |grad L_i|`` and ``r_i`` term i's loss ratio ``L_i(t) / L_i(0)`` relative to
the mean ratio, the weights descend ``sum_i |G_i - mean(G) r_i^gradnorm_alpha|`` (the target
held constant, as in the paper) by Adam with step ``balance_lr``, then are renormalised to sum
to the number of terms. Gradient norms are over all trainable parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .base import Balancer


class GradNorm(Balancer):
    term_gradients = True
    first: torch.Tensor | None = None

    def __init__(self, terms: Sequence[Any] = (), training: Mapping[str, Any] | None = None):
        super().__init__(terms, training)
        self.trained = torch.nn.Parameter(torch.ones(len(self.index), dtype=torch.float64))
        self.optimizer = torch.optim.Adam([self.trained], lr=self.settings.get("balance_lr", 0.025))

    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        now = self.raw(losses)
        if self.first is None:
            self.first = now.clamp_min(1e-300)
        norms = torch.stack([g.norm() for g in self.raw_gradients(losses, parameters)])
        ratios = now / self.first
        ratios = ratios / ratios.mean()
        weighted = self.trained * norms
        target = (weighted.mean() * ratios ** self.settings["gradnorm_alpha"]).detach()
        self.optimizer.zero_grad()
        (weighted - target).abs().sum().backward()
        self.optimizer.step()
        with torch.no_grad():
            self.trained.clamp_(min=1e-6)
            self.trained.mul_(len(self.trained) / self.trained.sum())
        self.weights[self.index] = self.trained.detach().clone()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "first": self.first, "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if state.get("names") == self.names:
            self.first = state.get("first")
            with torch.no_grad():
                self.trained.copy_(self.weights[self.index])
            self.optimizer.load_state_dict(state["optimizer"])
