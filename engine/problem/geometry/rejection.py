"""Rejection sampling that fills a fixed set of slots, each with its own parameter values."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import Values, concat, take

Draw = Callable[[np.ndarray], tuple[Values, np.ndarray, np.ndarray]]
"""slots (with repeats) -> (one candidate row per entry, accepted mask, measure of the region it was drawn from)."""

CALIBRATION_DRAWS = 4096
ROUND_DRAWS = 2**20
BUDGET_DRAWS = 2**22
MAX_ROUNDS = 100


def rejection_sample(
    n: int, draw: Draw, fail: Callable[[int, int], ProblemError]
) -> tuple[Values, np.ndarray, float]:
    """Fill slots ``0..n-1`` with accepted candidates drawn for those slots.

    Returns the accepted rows (row i for slot i), each row's candidate measure, and an estimate of the total
    measure of the accepted set: the mean of measure * accepted over the draws made while every slot was still
    pending (so every slot counts equally, even when the acceptance rate depends on its parameters).
    ``fail(accepted, drawn)`` builds the error raised when the draw budget or round limit runs out.
    """
    pending = np.arange(n)
    slots_done: list[np.ndarray] = []
    rows_done: list[Values] = []
    measures_done: list[np.ndarray] = []
    per_slot = max(1, math.ceil(CALIBRATION_DRAWS / max(n, 1)))
    drawn = hits = 0
    calibrating, calibration_sum, calibration_draws = True, 0.0, 0
    budget = max(BUDGET_DRAWS, 64 * n)
    for _ in range(MAX_ROUNDS):
        if pending.size == 0:
            break
        per_slot = max(1, min(per_slot, ROUND_DRAWS // pending.size, (budget - drawn) // pending.size))
        candidates, accepted, measure = draw(np.repeat(pending, per_slot))
        grid = accepted.reshape(pending.size, per_slot)
        filled = grid.any(axis=1)
        chosen = (np.arange(pending.size) * per_slot + grid.argmax(axis=1))[filled]
        slots_done.append(pending[filled])
        rows_done.append(take(candidates, chosen))
        measures_done.append(measure[chosen])
        if calibrating:
            calibration_sum += float(np.sum(measure * accepted))
            calibration_draws += accepted.size
            calibrating = not filled.any()
        drawn += accepted.size
        hits += int(accepted.sum())
        pending = pending[~filled]
        if pending.size and drawn >= budget:
            break
        per_slot = math.ceil(drawn / hits) if filled.any() else per_slot * 8
    if pending.size:
        raise fail(n - pending.size, drawn)
    order = np.argsort(np.concatenate(slots_done), kind="stable")
    rows = take(concat(rows_done), order)
    return rows, np.concatenate(measures_done)[order], calibration_sum / calibration_draws


def shares(total: float, measure: np.ndarray) -> np.ndarray:
    """Split ``total`` across rows in proportion to their candidate ``measure``."""
    weight = measure.sum()
    return measure * (total / weight) if weight > 0 else np.zeros_like(measure)
