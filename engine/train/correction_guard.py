"""The end of a correction stage: keep only as much of its corrections as fresh points say helps.

A correction fitted on few collocation points can interpolate them and raise the error between
them (its loss falls, the error does not). Before a correction stage's final checkpoint, the
stage's loss is measured on :data:`VALIDATION_DRAWS` fresh batches with this stage's corrections
scaled by each of :data:`SCALES`; the scale with the lowest loss is kept (0 gives back the
parent exactly), and every ``eps`` of the stage's record is scaled with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..nets import CorrectedNetwork
from .loop import LoopState, draw_batches
from .loss_step import stacked_losses

SCALES = (1.0, 0.75, 0.5, 0.25, 0.0)
"""Scales tried, the full correction first (kept on a tie)."""
VALIDATION_DRAWS = 4
"""Fresh batches per constraint the scales are compared on."""


def validation_losses(state: LoopState, corrected: list[CorrectedNetwork]) -> dict[float, float]:
    """The stage's total loss on fresh batches with its corrections scaled by each of :data:`SCALES`."""
    batches = [draw_batches(state) for _ in range(VALIDATION_DRAWS)]
    full = [net.eps.clone() for net in corrected]
    losses = {}
    for scale in SCALES:
        for net, eps in zip(corrected, full):
            net.eps.copy_(eps * scale)
        losses[scale] = sum(float(stacked_losses(state.terms, state.bindings, b).detach().sum()) for b in batches)
    for net, eps in zip(corrected, full):
        net.eps.copy_(eps)
    return losses


def guard_corrections(state: LoopState, modules: Mapping[str, torch.nn.Module], record: dict[str, Any]) -> str:
    """Scale this stage's corrections (the outermost of each network) by the best of :data:`SCALES`;
    ``record`` (the stage's correction record) gets the scale and the scaled eps. Returns a log line."""
    corrected = [module for module in modules.values() if isinstance(module, CorrectedNetwork)]
    losses = validation_losses(state, corrected)
    best = min(SCALES, key=lambda scale: losses[scale])
    with torch.no_grad():
        for net in corrected:
            net.eps.mul_(best)
    for output in record.get("outputs", {}).values():
        output["eps"] *= best
    record["scale"] = best
    tried = ", ".join(f"{scale:g}: {losses[scale]:.3e}" for scale in SCALES)
    return f"correction kept at scale {best:g} (loss on fresh points by scale: {tried})"
