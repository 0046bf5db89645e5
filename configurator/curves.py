"""Loss histories fetched incrementally, and the numerics of drawing them (EMA, downsampling)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_POINTS = 3000
"""A curve longer than this is drawn from evenly spaced points (its last point always kept)."""


@dataclass
class Series:
    """One loss key of one stage: stage-local steps, elapsed wall time (s) and values, by step."""

    steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    wall: np.ndarray = field(default_factory=lambda: np.empty(0))
    values: np.ndarray = field(default_factory=lambda: np.empty(0))

    def extend(self, steps: np.ndarray, wall: np.ndarray, values: np.ndarray) -> None:
        """Append rows in arrival order; a row at a step already seen replaces everything from that step on
        (a resumed attempt rewrites its history)."""
        all_steps = np.concatenate([self.steps, steps])
        later_min = np.minimum.accumulate(all_steps[::-1])[::-1]
        keep = all_steps < np.append(later_min[1:], np.iinfo(np.int64).max)
        self.steps = all_steps[keep]
        self.wall = np.concatenate([self.wall, wall])[keep]
        self.values = np.concatenate([self.values, values])[keep]


@dataclass
class LossHistory:
    """Every loss key of one stage seen so far, and the id of the last row read."""

    last_id: int = 0
    series: dict[str, Series] = field(default_factory=dict)

    def add(self, rows: Iterable[Mapping[str, Any]]) -> bool:
        """Add rows from ``Storage.loss_rows(after_id=self.last_id)``; returns whether there were any."""
        by_key: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            by_key.setdefault(row["key"], []).append(row)
            self.last_id = max(self.last_id, row["id"])
        for key, items in by_key.items():
            self.series.setdefault(key, Series()).extend(
                np.array([r["step"] for r in items], dtype=np.int64),
                np.array([r["wall_time"] for r in items], dtype=float),
                np.array([r["value"] for r in items], dtype=float),
            )
        return bool(by_key)


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average; non-finite values are skipped (left NaN)."""
    out = np.full(len(values), np.nan)
    if weight <= 0:
        return np.where(np.isfinite(values), values, np.nan)
    last, count = 0.0, 0
    for i, value in enumerate(values.tolist()):
        if not np.isfinite(value):
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        out[i] = last / (1 - weight**count)
    return out


def smooth(values: np.ndarray, weight: float, log: bool) -> np.ndarray:
    """``ema`` of the values, taken on log10 when the axis is logarithmic (non-positive values skipped)."""
    if not log:
        return ema(values, weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log10(values), np.nan)
    return 10 ** ema(logs, weight)


def downsample(count: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` evenly spaced points of ``count`` (first and last kept)."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))
