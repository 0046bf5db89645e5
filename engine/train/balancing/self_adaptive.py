"""Self-adaptive weights (McClenny & Braga-Neto 2023): one trainable weight per point, raised by gradient ascent.

The points must stay fixed for the weights to mean anything: the balancer keeps the first
batch of each term it sees (``training.resample_every >= max_steps`` is required when set, see
:mod:`engine.config.balancing`) and stores them in the checkpoint with their weights, so a
resumed stage continues on the same points. The finishing L-BFGS steps train on their own batch with
each term's last mean point weight. The loss of term ``i`` is ``mean_j(l_ij p_ij)``
with ``p_ij`` its weighted squared residual at point ``j``. Every ``balance_every`` steps
each ``l_ij`` rises by the ascent direction ``dL / dl_ij`` (the point's raw squared residual),
scaled so the largest rise is ``balance_lr``: points that stay poorly fitted gain weight.
An integral constraint has one weight (its loss counts as one point). The logged effective
weight of a term is its user weight times the mean of its point weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ...compile import NetworkBinding
from ..loss_step import Batches, stacked_losses
from .base import Balancer, Batch


def _pointwise(term: Any, networks: Mapping[str, NetworkBinding], batch: Batch, trained: bool) -> torch.Tensor:
    """A term's weighted squared residual per point; an untrained or integral term's loss as one point."""
    if trained and hasattr(term, "pointwise"):
        return term.pointwise(networks, batch)
    return term.loss(networks, batch).reshape(1)


class SelfAdaptive(Balancer):
    points: list[dict[str, torch.Tensor]] | None = None
    point_weights: list[torch.Tensor] | None = None
    saved: Mapping[str, Any] | None = None

    def losses(
        self,
        terms: Sequence[Any],
        networks: Mapping[str, NetworkBinding],
        batches: Sequence[Batch],
        parameters: Sequence[torch.nn.Parameter],
        step: int,
        active: bool,
        stack: Callable[[Sequence[Any], Mapping[str, NetworkBinding], Batches], torch.Tensor] = stacked_losses,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """While the stage's own optimizer steps (``active``): the per-point weighted losses on the fixed
        points (``batches`` is then ignored: the loop draws no other batch in the stage, and a resumed stage
        continues on the checkpoint's points). The finishing steps (L-BFGS) train on their own batch with
        each term's last mean point weight, as the other methods keep their last weights."""
        if not active:
            return super().losses(terms, networks, batches, parameters, step, active, stack)
        if self.points is None:
            self._fix_points(batches)
        assert self.points is not None
        values = [_pointwise(t, networks, b, on) for t, b, on in zip(terms, self.points, self.balanced)]
        if self.point_weights is None:
            self.point_weights = [torch.ones(len(v), dtype=torch.float64) for v in values]
        if active and len(self.index) > 1 and step % self.every == 0:
            self._ascend(values)
        losses = torch.stack([v.mean() for v in values])
        total = sum((w.to(v) * v).mean() for w, v in zip(self.point_weights, values))
        self.weights = torch.stack([w.mean() for w in self.point_weights])
        return losses, total  # type: ignore[return-value]

    def _fix_points(self, batches: Sequence[Batch]) -> None:
        """Keep the first batches (or the checkpoint's points, on the first batches' dtype and device)."""
        if self.saved is None:
            self.points = [dict(batch) for batch in batches]
            return
        like = next(iter(batches[0].values()))
        self.points = [
            {k: v.to(like).requires_grad_(k in grad) for k, v in points.items()}
            for points, grad in zip(self.saved["points"], self.saved["grad"])
        ]
        self.point_weights = [w.clone() for w in self.saved["point_weights"]]

    def _ascend(self, values: Sequence[torch.Tensor]) -> None:
        """Raise each balanced point's weight by its raw squared residual, the largest rise ``balance_lr``."""
        assert self.point_weights is not None
        raw = {i: values[i].detach().double().cpu() / self.scales[i] for i in self.index}
        peak = max(float(r.max()) for r in raw.values())
        if peak <= 0:
            return
        for i, r in raw.items():
            self.point_weights[i] = self.point_weights[i] + self.settings["balance_lr"] * r / peak

    def state_dict(self) -> dict[str, Any]:
        if self.points is None:
            return {**super().state_dict(), **(self.saved or {})}
        return {
            **super().state_dict(),
            "points": [{k: v.detach().cpu() for k, v in p.items()} for p in self.points],
            "grad": [sorted(k for k, v in p.items() if v.requires_grad) for p in self.points],
            "point_weights": self.point_weights,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if state.get("names") == self.names and "points" in state:
            self.saved, self.points = state, None
