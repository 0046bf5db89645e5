"""The latest learned value of each unknown constant (``p.add_unknown``) of each stage, from its loss rows."""

from __future__ import annotations

from collections.abc import Sequence

from engine.problem.unknowns import ROW_PREFIX
from engine.store import StageRecord, Storage


def latest_unknowns(storage: Storage, stages: Sequence[StageRecord]) -> dict[str, dict[str, float]]:
    """Stage -> unknown -> its last logged value (stages that logged none are absent)."""
    names = sorted({name for record in stages for name in record.config.get("unknowns", {})})
    values: dict[str, dict[str, float]] = {}
    for name in names:
        for stage, (_, value) in storage.latest_losses(ROW_PREFIX + name).items():
            values.setdefault(stage, {})[name] = value
    return values
