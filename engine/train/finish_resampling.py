"""New points during a correction stage's finishing steps (``training.correction_resample_every``).

A stage's finishing steps (``then_lbfgs_steps``, ``then_lm_steps``) run on one batch per
constraint, drawn when they start. In a correction stage that batch is what lets the correction
fit noise: the parent's residual has a high-frequency part many times larger than the residual
of the low-frequency error the correction learns, and on a fixed set of points the correction
fits that part *at the points* (where it is not the error) and adds error between them. Drawn
anew every ``k`` finishing steps, no fixed set of points exists to fit; L-BFGS restarts its
curvature pairs with each batch (they belong to one loss), LM keeps its damping (each of its
steps is one least-squares problem on the batch of that step). Measured on precision-1d's second
correction it did not gain (a finisher converges on each batch, so the fit is the last batch's,
noise included: docs/precision.md, "2026-12-01, fifth session: second corrections"), so it is off
unless set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .optim import build_optimizer


@dataclass(frozen=True)
class FinishResampling:
    """When a stage's finishing steps draw new points: every ``every`` steps of a phase (0: never)."""

    every: int = 0

    def due(self, into_phase: int) -> bool:
        """Whether the finishing step ``into_phase`` steps after its phase's first (which draws anyway) starts
        on a new batch."""
        return self.every > 0 and into_phase > 0 and into_phase % self.every == 0

    def restarted(self, optimizer: Any, kind: str, settings: Mapping[str, Any], parameters: list[Any]) -> Any:
        """The optimizer to go on with on the new batch: a fresh L-BFGS, any other as it is."""
        return build_optimizer(settings, parameters) if kind == "lbfgs" else optimizer


def finish_resampling(kind: str, training: Mapping[str, Any]) -> FinishResampling:
    """A correction stage's finishing steps resample every ``training.correction_resample_every``; others never."""
    return FinishResampling(int(training.get("correction_resample_every", 0)) if kind == "correction" else 0)
