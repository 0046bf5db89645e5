"""``training.sampler=rad``: every resample, the whole batch is picked from a freshly scored pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..terms import Draw
from .pool import ResidualPool, Rows


@dataclass
class RadDraw:
    """A constraint's batch source: ``batch_size`` points of the pool, by residual density (Wu et al.'s RAD)."""

    pool: ResidualPool
    batch_size: int
    points: Rows = field(default_factory=dict)  # the batch last drawn

    def __call__(self) -> Rows:
        self.points = self.pool.pick(self.batch_size)
        return self.points

    def state(self) -> dict[str, Rows]:
        return {"points": self.points}

    def restore(self, state: Mapping[str, Rows]) -> None:
        self.points = dict(state.get("points", {}))


def build(pool: ResidualPool, ordinary: Draw, batch_size: int, settings: Mapping[str, Any]) -> RadDraw:
    return RadDraw(pool, batch_size)
