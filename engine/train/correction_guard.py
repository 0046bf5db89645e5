"""The end of a correction stage: keep only as much of its corrections as the error they leave says helps.

A correction can raise the error while its loss falls: fitted on few collocation points, it
interpolates them, or it fits the parent's high-frequency residual (sampling noise on a finite
batch) instead of the low-frequency error under it. Before a correction stage's final checkpoint
its corrections are scaled by each of :data:`SCALES` and the scale whose model has the lowest
*implied error* is kept (0 gives back the parent exactly); every ``eps`` of the stage's record is
scaled with it.

The implied error is the one that sets eps (:mod:`engine.train.correction`): the residual of every
constraint on the points the stage's start measured it on (an interior equation on its FFT grid,
each Fourier component divided by ``c (2 pi |f|)^k``; a boundary, interface or data constraint by
its RMS over ``c (2 pi f_d)^k``, a condition on several outputs once, over all their amplifications:
:func:`implied_error`), combined as the root of their sum of squares. It weighs each
frequency like the error does, where the loss is dominated by the high-frequency residual that
stands for almost no error: on precision-1d's second correction the loss-based guard kept a
correction that doubled the error (docs/precision.md). Where the implied error cannot be computed
(no constraint of a corrected output was measured, or a residual is not finite) the guard falls
back to the stage's loss on :data:`VALIDATION_DRAWS` fresh batches; the record's ``guard`` says
which criterion decided, and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ..errors import MtcError
from ..nets import CorrectedNetwork
from .correction import Measured, Probe, measure_probes, pooled_amplification
from .loop import LoopState, draw_batches
from .loss_step import stacked_losses

SCALES = tuple(round(1.0 - i / 10, 1) for i in range(11))
"""Scales tried, the full correction first (kept on a tie)."""
VALIDATION_DRAWS = 4
"""Fallback criterion: fresh batches per constraint the scales are compared on."""
IMPLIED = "implied error"
LOSS = "loss on fresh points"


def implied_error(measured: Sequence[Measured], f_d: Mapping[str, float]) -> float:
    """The root of the sum of squares of the errors the measurements imply (``f_d`` per output).

    A constraint measured without a spectrum that involves several outputs (an interface condition)
    counts once, as the smallest error that explains its residual: ``RMS / sqrt(sum_o a_o^2)``,
    ``a_o = c_o (2 pi f_d)^k_o`` each output's amplification. Charged to each output alone, the flux
    condition ``T_paper' = 1000 T_metal'`` would stand for an error of ``T_paper`` 1000 times the
    one of ``T_metal`` that explains it.
    """
    total = sum(m.error_rms**2 for m in measured if m.error_rms is not None)
    once: dict[str, Measured] = {}
    for m in measured:
        if m.error_rms is None:
            once.setdefault(m.constraint, m)
    for constraint, m in once.items():
        pooled = pooled_amplification(constraint, measured, f_d)
        total += m.rms**2 / pooled if pooled > 0 else 0.0
    return math.sqrt(total)


def by_scale(corrected: Sequence[CorrectedNetwork], criterion: Callable[[], float]) -> dict[float, float]:
    """``criterion()`` with the corrections scaled by each of :data:`SCALES` (their eps restored after)."""
    full = [net.eps.clone() for net in corrected]
    values = {}
    try:
        for scale in SCALES:
            for net, eps in zip(corrected, full):
                net.eps.copy_(eps * scale)
            values[scale] = criterion()
    finally:
        for net, eps in zip(corrected, full):
            net.eps.copy_(eps)
    return values


def implied_errors(state: LoopState, corrected: Sequence[CorrectedNetwork], probes: Sequence[Probe], f_d: Mapping[str, float]) -> dict[float, float]:
    """The implied error of the stage's model on ``probes`` with its corrections scaled by each of :data:`SCALES`."""
    return by_scale(corrected, lambda: implied_error(measure_probes(probes, state.bindings, state.dtype, state.device), f_d))


def validation_losses(state: LoopState, corrected: Sequence[CorrectedNetwork]) -> dict[float, float]:
    """The stage's total loss on fresh batches with its corrections scaled by each of :data:`SCALES`."""
    batches = [draw_batches(state) for _ in range(VALIDATION_DRAWS)]
    return by_scale(
        corrected, lambda: sum(float(stacked_losses(state.terms, state.bindings, b).detach().sum()) for b in batches)
    )


def judged(state: LoopState, corrected: Sequence[CorrectedNetwork], probes: Sequence[Probe], f_d: Mapping[str, float]) -> tuple[str, dict[float, float], str]:
    """The criterion used, its value by scale, and why it was used."""
    if not probes:
        return LOSS, validation_losses(state, corrected), "no constraint of a corrected output could be measured"
    try:
        values = implied_errors(state, corrected, probes, f_d)
    except MtcError as exc:  # a residual that is not finite at some scale
        return LOSS, validation_losses(state, corrected), f"the implied error could not be computed ({exc})"
    if not all(math.isfinite(v) for v in values.values()):
        return LOSS, validation_losses(state, corrected), "the implied error is not finite"
    where = "; ".join(sorted({p.method.split(";")[0] for p in probes}))
    return IMPLIED, values, f"measured on the points the stage's start measured its parent on ({where})"


def guard_corrections(
    state: LoopState, modules: Mapping[str, torch.nn.Module], record: dict[str, Any], probes: Sequence[Probe]
) -> str:
    """Scale this stage's corrections (the outermost of each network) by the best of :data:`SCALES`;
    ``record`` (the stage's correction record) gets the scale, the scaled eps and the criterion
    (``guard``). ``probes``: where the implied error is measured. Returns a log line."""
    corrected = [module for module in modules.values() if isinstance(module, CorrectedNetwork)]
    f_d = {out: float(e["f_d"]) for out, e in record.get("outputs", {}).items()}
    criterion, values, why = judged(state, corrected, probes, f_d)
    best = min(SCALES, key=lambda scale: values[scale])
    with torch.no_grad():
        for net in corrected:
            net.eps.mul_(best)
    for output in record.get("outputs", {}).values():
        output["eps"] *= best
    record["scale"] = best
    record["guard"] = {"criterion": criterion, "by_scale": {f"{s:g}": v for s, v in values.items()}, "note": why}
    tried = ", ".join(f"{scale:g}: {values[scale]:.3e}" for scale in SCALES)
    return f"correction kept at scale {best:g} ({criterion} by scale: {tried}; {why})"
