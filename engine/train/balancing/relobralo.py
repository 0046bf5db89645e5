"""ReLoBRaLo (Bischof & Kraus 2021): relative loss balancing with random lookback.

``bal(t, t') = n * softmax(L_i(t) / (T L_i(t')))`` favours the terms whose loss fell least
since ``t'``. Each update: ``w = (1 - a) (rho w + (1 - rho) bal(t, 0)) + a bal(t, t-1)`` with
``a = balance_alpha``, ``T = relobralo_temperature`` and ``rho`` a Bernoulli draw of mean
``relobralo_rho`` (1: keep the history; 0: look back to the first losses); ``t-1`` is the
previous update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .base import Balancer


class ReLoBRaLo(Balancer):
    first: torch.Tensor | None = None
    previous: torch.Tensor | None = None

    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        now = self.raw(losses).clamp_min(1e-300)
        if self.first is None or self.previous is None:
            self.first, self.previous = now, now
            return
        temperature, alpha = self.settings["relobralo_temperature"], self.settings["balance_alpha"]
        n = len(now)

        def bal(before: torch.Tensor) -> torch.Tensor:
            return n * torch.softmax(now / (temperature * before.clamp_min(1e-300)), dim=0)

        rho = float(torch.rand((), dtype=torch.float64) < self.settings["relobralo_rho"])
        index = self.index
        history = rho * self.weights[index] + (1 - rho) * bal(self.first)
        self.weights[index] = (1 - alpha) * history + alpha * bal(self.previous)
        self.previous = now

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "first": self.first, "previous": self.previous}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if state.get("names") == self.names:
            self.first, self.previous = state.get("first"), state.get("previous")
