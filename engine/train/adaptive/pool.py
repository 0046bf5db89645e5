"""A candidate pool scored by a constraint's residual: draw, score, and pick points by residual density.

Wu et al. 2023 (residual-based adaptive distribution): the density of a candidate ``x`` is
``|r(x)|^k / mean(|r|^k) + c``; points are picked from the pool without replacement with
probability proportional to it (Efraimidis-Spirakis keys, one random number per candidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch

from ...compile import BatchFields, NetworkBinding, as_columns
from ..terms import Draw, LossTerm

Rows = dict[str, np.ndarray]
CHUNK = 4096  # candidates per residual evaluation (bounds the autograd graph's memory)


def residual_scores(
    term: LossTerm,
    bindings: Mapping[str, NetworkBinding],
    rows: Rows,
    dtype: torch.dtype,
    device: torch.device,
    chunk: int = CHUNK,
) -> np.ndarray:
    """``|residual|`` of ``term`` at every row, with the networks as they are now.

    Input derivatives need autograd, so each chunk is evaluated with gradients enabled and the
    result detached; nothing reaches the parameters' ``.grad``.
    """
    count = len(next(iter(rows.values())))
    scores = []
    for start in range(0, count, chunk):
        part = {key: rows[key][start : start + chunk] for key in term.needed if key in rows}
        size = min(chunk, count - start)
        with torch.enable_grad():
            columns = as_columns(part, dtype, device, term.residual.grad_variables)
            residual = term.residual(BatchFields(bindings, {**columns, **term.scalars()}))
        scores.append(np.broadcast_to(residual.detach().abs().reshape(-1).cpu().numpy(), (size,)))
    return np.concatenate(scores) if scores else np.zeros(0)


def residual_density(scores: np.ndarray, k: float, c: float) -> np.ndarray:
    """The sampling probabilities ``(|r|^k / mean(|r|^k) + c)`` normalised; non-finite scores count as 0."""
    power = np.where(np.isfinite(scores), scores, 0.0) ** k
    mean = power.mean() if len(power) else 0.0
    density = (power / mean if mean > 0 else np.zeros_like(power)) + c
    total = density.sum()
    return density / total if total > 0 else np.full(len(density), 1.0 / max(len(density), 1))


def weighted_pick(rng: np.random.Generator, density: np.ndarray, n: int) -> np.ndarray:
    """``min(n, len(density))`` distinct indices, drawn one after another with probability ``density``."""
    n = min(n, len(density))
    with np.errstate(divide="ignore"):
        keys = np.log(rng.random(len(density))) / density  # larger is earlier; density 0 -> -inf, never first
    return np.argpartition(-keys, n - 1)[:n] if n else np.zeros(0, dtype=int)


def take(rows: Rows, index: np.ndarray) -> Rows:
    """The rows ``index`` of every column."""
    return {key: column[index] for key, column in rows.items()}


@dataclass
class ResidualPool:
    """Draws a fresh candidate pool of one constraint's subdomain and picks points by residual density."""

    draw: Draw  # the pool: ``training.rad.pool`` points with criteria and params, like any batch
    score: Callable[[Rows], np.ndarray]  # |residual| at each row, networks as they are now
    k: float
    c: float
    rng: np.random.Generator

    def pick(self, n: int) -> Rows:
        """``n`` points of a freshly drawn and scored pool, more of them where the residual is large."""
        rows = self.draw()
        chosen = take(rows, weighted_pick(self.rng, residual_density(self.score(rows), self.k, self.c), n))
        return with_area(chosen, float(rows["area"].sum()) if "area" in rows else None)


def with_area(rows: Rows, measure: float | None) -> Rows:
    """``rows`` with ``area`` set to ``measure / count`` per point (their sum stays the subdomain's measure)."""
    if measure is None or "area" not in rows:
        return rows
    count = len(rows["area"])
    return {**rows, "area": np.full(count, measure / max(count, 1))}
