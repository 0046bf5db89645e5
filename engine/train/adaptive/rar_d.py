"""``training.sampler=rar_d``: the ordinary batch plus points added from the scored pool at every resample.

Residual-based adaptive refinement with distribution (Wu et al. 2023): each resample adds
``training.rad.add`` points picked by residual density; the added points are kept (at most
``batch_size * (max_growth - 1)`` of them, the oldest leaving first) beside a freshly drawn
ordinary batch of ``batch_size`` points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..terms import Draw
from .pool import ResidualPool, Rows, with_area


@dataclass
class RarDDraw:
    """A constraint's batch source: the ordinary batch and the points added so far (at most ``room``)."""

    pool: ResidualPool
    ordinary: Draw
    add: int
    room: int
    added: Rows = field(default_factory=dict)
    points: Rows = field(default_factory=dict)  # the batch last drawn

    def __call__(self) -> Rows:
        batch = self.ordinary()
        new = self.pool.pick(self.add)
        kept = {key: np.concatenate([self.added[key], new[key]]) if self.added else new[key] for key in new}
        self.added = {key: column[-self.room :] for key, column in kept.items()}
        measure = float(batch["area"].sum()) if "area" in batch else None
        self.points = with_area({key: np.concatenate([batch[key], self.added[key]]) for key in batch}, measure)
        return self.points

    def state(self) -> dict[str, Rows]:
        return {"points": self.points, "added": self.added}

    def restore(self, state: Mapping[str, Rows]) -> None:
        self.points, self.added = dict(state.get("points", {})), dict(state.get("added", {}))


def build(pool: ResidualPool, ordinary: Draw, batch_size: int, settings: Mapping[str, Any]) -> RarDDraw:
    room = max(1, math.floor(batch_size * (settings["max_growth"] - 1)))
    return RarDDraw(pool, ordinary, settings["add"], room)
