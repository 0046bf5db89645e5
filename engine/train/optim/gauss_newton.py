"""What the Gauss-Newton optimizers (lm, engd) share: the size check, the linear solve, applying a step.

They are ``torch.optim.Optimizer``s over the trainable parameters whose ``step(closure)`` asks
the closure for :meth:`residuals` (a :class:`~.least_squares.StackedResiduals` of this step's
batches) and reports the loss at the step's start through ``closure.record``. Each step
computes the per-point Jacobian once and reuses it for every solve and trial.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Protocol

import torch

from ...errors import MtcError
from .least_squares import StackedResiduals
from .linear_solve import cg_solve, dense_solve

Tensor = torch.Tensor


class ResidualClosure(Protocol):
    """What a Gauss-Newton step needs from the training loop."""

    def residuals(self) -> StackedResiduals: ...

    def record(self, losses: Mapping[str, float]) -> None: ...


def size_refusal(name: str, settings: Mapping[str, Any], count: int) -> str | None:
    """Why ``count`` trainable parameters cannot be trained by this Gauss-Newton optimizer, or None."""
    if count <= settings["lm_max_dense"] or settings["lm_cg"]:
        return None
    return (
        f"optimizer {name}: the trainable networks have {count} parameters, more than "
        f"optimizer.lm_max_dense={settings['lm_max_dense']} for the dense solve, and optimizer.lm_cg is false: "
        f"set optimizer.lm_cg=true (conjugate gradients), raise optimizer.lm_max_dense (a {count} x {count} "
        "matrix per step), or make the networks smaller (nets.<NET>.layer_size, nr_layers)"
    )


class GaussNewton(torch.optim.Optimizer):
    """Base of lm and engd: holds the settings, solves the damped system, moves the parameters."""

    name = "gauss_newton"

    def __init__(self, params: Iterable[torch.nn.Parameter], settings: Mapping[str, Any]):
        super().__init__(list(params), {"lr": 1.0})
        self.count = sum(p.numel() for p in self.parameters)
        refusal = size_refusal(self.name, settings, self.count)
        if refusal:
            raise MtcError(refusal)
        self.dense = self.count <= settings["lm_max_dense"]
        self.cg_max_iter = settings["cg_max_iter"]
        self.points_needed = math.ceil(settings["points_per_parameter"] * self.count)
        self.damping = 0.0
        self.step_size = 0.0

    @property
    def parameters(self) -> list[torch.nn.Parameter]:
        """The trained parameters, in the order of the flat step vector."""
        return [p for group in self.param_groups for p in group["params"]]

    def gram(self, jac: Tensor) -> Tensor | None:
        """``J^T J`` for the dense solve, None when conjugate gradients solve."""
        return jac.T @ jac if self.dense else None

    def solve(self, jac: Tensor, gram: Tensor | None, grad: Tensor, damping: float) -> Tensor | None:
        """``(J^T J + damping I) d = -grad``; None when the dense factorisation fails at this damping."""
        if gram is not None:
            return dense_solve(gram, grad, damping)
        return cg_solve(jac, grad, damping, self.cg_max_iter)

    @torch.no_grad()
    def apply(self, delta: Tensor) -> None:
        """Move the parameters by the flat vector ``delta``."""
        offset = 0
        for param in self.parameters:
            size = param.numel()
            param.add_(delta[offset : offset + size].view_as(param))
            offset += size

    def report(self) -> dict[str, float]:
        """The loss-log keys of the last step: ``lr`` (the step length taken, 0 if none) and ``damping``."""
        return {"lr": self.step_size, "damping": self.damping}

    def carry(self) -> dict[str, float]:
        """State a checkpoint keeps so that a resumed stage continues with it."""
        return {"damping": self.damping}

    def resume(self, saved: Mapping[str, float]) -> None:
        """Take back :meth:`carry`'s state."""
        self.damping = float(saved.get("damping", self.damping))

    def start(self, closure: ResidualClosure) -> tuple[StackedResiduals, Tensor, Tensor]:
        """The step's residual system, residual vector and Jacobian; records the loss it starts from."""
        system = closure.residuals()
        vector, jac = system.jacobian()
        closure.record(system.losses(vector))
        return system, vector, jac
