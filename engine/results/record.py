"""Each finished stage's errors against the reference solution, computed once and kept in its row.

A stage's stored errors name the reference they were measured against (its fingerprint), so an
edited reference is measured again the next time results are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import MtcError
from engine.problem import Problem, load_problem
from engine.results.evaluation import evaluation_fingerprint, evaluation_points, reference_errors
from engine.results.grid import Predict
from engine.store import StageRecord, Storage

MEASURED = ("done",)


def stale(record: StageRecord, fingerprint: str) -> bool:
    """Whether a finished stage has no errors measured against the reference ``fingerprint``."""
    return record.status in MEASURED and (record.errors or {}).get("reference") != fingerprint


def update_errors(project: Path, storage: Storage, stages: Sequence[str] | None = None) -> list[str]:
    """Measure every finished stage (of ``stages``, default all) whose errors are missing or stale.

    Returns the stages measured; nothing when problem.py declares no reference.
    """
    from engine.inference import load_stage  # torch: only when something is measured

    problem = load_problem(project)
    if problem.reference is None:
        return []
    fingerprint = evaluation_fingerprint(problem)
    records = [r for r in storage.list_stages() if (stages is None or r.name in stages) and stale(r, fingerprint)]
    if not records:
        return []
    points = evaluation_points(project, problem)
    for record in records:
        model = load_stage(project, record.name, problem=problem)
        storage.set_errors(record.name, measured(problem, model.predict, points, fingerprint))
    return [record.name for record in records]


def measured(problem: Problem, predict: Predict, points: dict[str, np.ndarray], fingerprint: str) -> dict[str, Any]:
    """The stored form: the reference's fingerprint, the number of points, and the errors per target."""
    count = len(next(iter(points.values())))
    return {"reference": fingerprint, "points": count, "outputs": reference_errors(problem, predict, points)}


def record_finished(project: Path, storage: Storage, stage: str, warn: Callable[[str], None]) -> None:
    """After a stage is done: measure it; a failure is reported through ``warn``, the stage stays done."""
    try:
        update_errors(project, storage, [stage])
    except MtcError as exc:
        warn(f"could not measure {stage} against the reference solution: {exc}")
