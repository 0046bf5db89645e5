"""The loss of one step as a weighted sum of its terms, and the balancer that owns the weights.

A balancer sees each term's loss divided by the constraint's own numeric weight (its *raw*
loss), so the weight it computes multiplies the user's: the effective weight of a term is
``user weight * balanced weight``. Terms that are not trained (hard constraints, weight 0)
keep a balanced weight of 1 and take no part in the updates. :class:`Balancer` itself is
``loss_balancing=none``: every balanced weight stays 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ...compile import NetworkBinding
from ..loss_step import Batches, stacked_losses

ROW_PREFIX = "weight/"  # loss rows ``weight/<constraint>``: a constraint's effective weight at a logged step
Batch = Mapping[str, torch.Tensor]


def user_weight(term: Any) -> float:
    """The constraint's own weight when it is a number (an expression weights points: 1 here)."""
    return float(term.weight) if isinstance(term.weight, (int, float)) else 1.0


def gradient(loss: torch.Tensor, parameters: Sequence[torch.nn.Parameter]) -> torch.Tensor:
    """The flat gradient of ``loss`` with respect to ``parameters`` (zeros where it does not depend on one)."""
    if not loss.requires_grad:  # a term on frozen networks only
        return torch.cat([torch.zeros_like(p).reshape(-1) for p in parameters])
    grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, parameters)])


class Balancer:
    """Per-term weights applied to the step's losses; subclasses update them every ``every`` steps."""

    term_gradients = False
    """Whether updates differentiate each term's loss apart (one graph, retained): a compiled step refuses it."""

    def __init__(self, terms: Sequence[Any] = (), training: Mapping[str, Any] | None = None):
        self.names = [term.name for term in terms]
        self.scales = torch.tensor([user_weight(term) for term in terms], dtype=torch.float64)
        self.balanced = [getattr(term, "trained", True) and scale != 0 for term, scale in zip(terms, self.scales.tolist())]
        self.weights = torch.ones(len(self.names), dtype=torch.float64)
        self.every = (training or {}).get("balance_every", 1)
        self.settings = dict(training or {})

    @property
    def index(self) -> list[int]:
        """Positions of the balanced terms."""
        return [i for i, on in enumerate(self.balanced) if on]

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
        """Each term's loss (with its user weight) and the balanced total the optimizer minimises.

        ``active``: the stage's own optimizer is stepping, so the weights may be updated on this step;
        ``stack`` computes the terms' losses (the stage's loss step: compiled or not, engine.train.loss_step).
        """
        losses = stack(terms, networks, batches)
        if not self.names:  # a loop state built without terms: the plain sum
            return losses, losses.sum()
        if active and len(self.index) > 1 and step % self.every == 0:
            self.update(losses, parameters, step)
        return losses, (self.weights.to(losses) * losses).sum()

    def update(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter], step: int) -> None:
        """Recompute ``self.weights`` from this step's losses (``none``: never)."""

    def raw(self, losses: torch.Tensor) -> torch.Tensor:
        """The balanced terms' losses without their user weights, detached, as float64."""
        index = self.index
        return losses.detach()[index].double() / self.scales[index]

    def raw_gradients(self, losses: torch.Tensor, parameters: Sequence[torch.nn.Parameter]) -> list[torch.Tensor]:
        """The gradient of each balanced term's raw loss (one extra backward pass per term)."""
        return [gradient(losses[i], parameters).double() / self.scales[i] for i in self.index]

    def effective(self) -> dict[str, float]:
        """``weight/<constraint>`` -> user weight x balanced weight, for the loss log."""
        return {ROW_PREFIX + name: float(w * s) for name, w, s in zip(self.names, self.weights, self.scales)}

    def state_dict(self) -> dict[str, Any]:
        """What a resumed stage needs to continue the weights."""
        return {"names": self.names, "weights": self.weights.clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s weights (a checkpoint with other terms is ignored)."""
        if state.get("names") == self.names:
            self.weights = state["weights"].clone()
