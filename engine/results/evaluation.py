"""The fixed points where every stage is compared with the reference, and the errors there.

With exact expressions the points are a scrambled Sobol set in the domain (the interior
subdomains; every subdomain when there is none), drawn once per project with a fixed seed and
kept in ``.mtc/evaluation.npz`` so that every stage is measured on the same points. With a
reference data file they are the file's rows.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np

from engine.errors import MtcError
from engine.problem import Problem
from engine.problem.datafiles import load_columns
from engine.problem.reference import Reference
from engine.problem.sampling import sample_subdomain
from engine.results.grid import Predict, value_ranges

EVALUATION_FILE = Path(".mtc") / "evaluation.npz"
EVALUATION_POINTS = 4096
SEED = 20240501


def evaluation_points(project: Path, problem: Problem) -> dict[str, np.ndarray]:
    """The project's evaluation set: one column per variable (drawn and saved on first use)."""
    reference = _reference(problem)
    variables = list(problem.variables)
    if reference.data_path is not None:
        return load_columns(reference.data_path, variables)
    path = Path(project) / EVALUATION_FILE
    if path.is_file():
        with np.load(path) as saved:
            if sorted(saved.files) == sorted(variables):
                return {name: saved[name] for name in variables}
    points = sample_domain(problem, EVALUATION_POINTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(partial, "wb") as handle:  # a name of its own: workers may draw the set at once
        np.savez(handle, **points)
    os.replace(partial, path)
    return points


def sample_domain(problem: Problem, count: int) -> dict[str, np.ndarray]:
    """About ``count`` quasi-random points spread over the interior subdomains, a column per variable."""
    subdomains = [s for s in problem.subdomains.values() if s.kind == "interior"] or list(problem.subdomains.values())
    if not subdomains:
        raise MtcError("problem.py has no subdomain: there is no domain to compare the reference on")
    rng = np.random.default_rng(SEED)
    ranges = value_ranges(problem)
    share = math.ceil(count / len(subdomains))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in problem.variables}
    for subdomain in subdomains:
        drawn = sample_subdomain(
            subdomain.geometry, subdomain.kind, share, subdomain.params, subdomain.criteria, rng, "sobol",
            name=subdomain.name,
        )  # fmt: skip
        for name in parts:
            held = np.full(share, float(np.mean(ranges.get(name, (0.0, 0.0)))))
            parts[name].append(np.asarray(drawn.get(name, held), dtype=np.float64))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def reference_errors(problem: Problem, predict: Predict, points: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per target: relative L2 error ``|pred - ref|_2 / |ref|_2`` and max error ``max |pred - ref|``."""
    reference = _reference(problem)
    exact = reference.values(points)
    predicted = predict(points)
    errors = {}
    for name, truth in exact.items():
        difference = predicted[name] - truth
        scale = float(np.linalg.norm(truth))
        l2 = float(np.linalg.norm(difference))
        errors[name] = {"l2_rel": l2 / scale if scale > 0 else l2, "max_abs": float(np.max(np.abs(difference)))}
    return errors


def _reference(problem: Problem) -> Reference:
    if problem.reference is None:
        raise MtcError("problem.py declares no reference solution: add p.set_reference(...) (see docs/user-guide.md)")
    return problem.reference
