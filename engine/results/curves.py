"""Loss histories fetched incrementally, and how they are drawn: x axis, EMA, downsampling, trace specs
(shared by the configurator's live plot and `mtc plot losses`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

X_MODES = ("global step", "stage step", "wall time")
"""What a loss curve's x axis can show (``mtc plot losses --x global|stage|wall``)."""

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DASHES = ("solid", "dash", "dot", "dashdot")
RAW_OPACITY = 0.25
LR_AXIS = {"title": {"text": "lr"}, "overlaying": "y", "side": "right", "type": "log", "showgrid": False, "exponentformat": "e"}
"""The learning rate's own axis (right), so that it never squeezes the losses."""

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


def x_values(series: Series, mode: str, step_offset: int) -> np.ndarray:
    """The x coordinates of a series: global step (offset by the parent's steps), stage step or wall time (s)."""
    if mode == "global step":
        return series.steps + step_offset
    if mode == "stage step":
        return series.steps
    return series.wall


def key_order(keys: Iterable[str]) -> list[str]:
    """``total`` first, the constraints alphabetically, ``lr`` last."""
    rest = sorted(set(keys) - {"total", "lr"})
    return ["total", *rest, *(["lr"] if "lr" in keys else [])]


def curve_specs(
    histories: Mapping[str, LossHistory],
    offsets: Mapping[str, int],
    stages: Sequence[str],
    keys: Sequence[str],
    x_mode: str,
    smoothing: float = 0.0,
    log_y: bool = True,
    colour_order: Sequence[str] = (),
    total_notes: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Plotly trace specs: per stage and key, a curve (smoothed over its faint raw curve when
    ``smoothing`` > 0), a colour per stage (by its place in ``colour_order``), a dash per key, and
    ``lr`` on its own axis (``y2``, see ``LR_AXIS``). A stage's ``total`` with a note (see
    ``total_notes``) is labelled with it and dotted: it does not continue its parent's total."""
    order = list(colour_order) or list(stages)
    specs: list[dict[str, Any]] = []
    for name in stages:
        history = histories.get(name)
        for index, key in enumerate(keys):
            series = history.series.get(key) if history else None
            if series is None or not len(series.steps):
                continue
            label = name if len(keys) == 1 else f"{name} · {key}"
            note = (total_notes or {}).get(name) if key == "total" else None
            label += f" ({note})" if note else ""
            uid = re.sub(r"[^A-Za-z0-9_-]", "_", f"{name}--{key}")  # plotly uses it in CSS selectors
            x = x_values(series, x_mode, offsets.get(name, 0))
            y = np.where(np.isfinite(series.values), series.values, np.nan)
            keep = downsample(len(x))
            line = {"color": PALETTE[order.index(name) % len(PALETTE)], "dash": "dot" if note else DASHES[index % len(DASHES)]}
            common = {"x": x[keep], "y": y[keep], "mode": "lines", "line": line, "legendgroup": label,
                      "yaxis": "y2" if key == "lr" else "y"}  # fmt: skip
            if smoothing > 0:
                specs.append({**common, "uid": f"{uid}--raw", "name": label, "opacity": RAW_OPACITY,
                              "showlegend": False, "hoverinfo": "skip"})  # fmt: skip
                common = {**common, "y": smooth(y, smoothing, log_y)[keep]}
            specs.append({**common, "uid": f"{uid}--curve", "name": label, "opacity": 1.0, "showlegend": True})
    return specs


def total_notes(configs: Mapping[str, Mapping[str, Any]], parents: Mapping[str, str | None]) -> dict[str, str]:
    """Per child stage whose ``total`` sums other constraints than its parent's: ``total without c``
    (or ``total with c``), so that its curve is not read as the continuation of its parent's."""
    notes = {}
    for name, parent in parents.items():
        if parent is None or parent not in configs:
            continue
        mine, theirs = _included(configs[name]), _included(configs[parent])
        parts = [f"without {', '.join(sorted(theirs - mine))}"] if theirs - mine else []
        parts += [f"with {', '.join(sorted(mine - theirs))}"] if mine - theirs else []
        if parts:
            notes[name] = "total " + " and ".join(parts)
    return notes


def _included(config: Mapping[str, Any]) -> set[str]:
    sections = (config.get("constraints", {}), config.get("data", {}))
    return {name for section in sections for name, settings in section.items() if settings.get("include", True)}
