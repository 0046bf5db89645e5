"""The fixed points where every stage is compared with the reference, and the errors there.

With exact expressions the points are a scrambled Sobol set in the domain, drawn once per
project with a fixed seed and kept in ``.mtc/evaluation-2.npz`` so that every stage is measured on
the same points. The domain is the union of the interior subdomains of the highest dimension
(geometry dimensions plus varying parameters; every subdomain when there is no interior one), each
given points in proportion to its measure: an initial-condition line (``t`` fixed) inside an
(x, t) domain is not part of it, and a wide subdomain gets more points than a narrow one.
(Rule 1, before 2026-12-01, split the points evenly over every interior subdomain, so a
time-dependent problem's ``t = 0`` line held half of them; its stored errors are measured again.)
With a reference data file they are the file's rows.
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
from engine.problem.entities import Subdomain
from engine.problem.sampling import parse_params, sample_subdomain
from engine.results.grid import Predict, value_ranges

EVALUATION_FILE = Path(".mtc") / "evaluation-2.npz"
EVALUATION_POINTS = 4096
SEED = 20240501
RULE = "points-2"
"""How the evaluation set is drawn; part of each stored error's fingerprint, so a new rule re-measures."""
MEASURE_PROBE = 1024
"""Points drawn per subdomain to estimate its measure (criteria included)."""


def evaluation_fingerprint(problem: Problem) -> str:
    """What a stored error was measured against: the reference and the rule of the evaluation set."""
    return f"{_reference(problem).fingerprint()}|{RULE}"


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
    """About ``count`` quasi-random points over the domain (the module's rule), a column per variable."""
    subdomains = [s for s in problem.subdomains.values() if s.kind == "interior"] or list(problem.subdomains.values())
    if not subdomains:
        raise MtcError("problem.py has no subdomain: there is no domain to compare the reference on")
    rng = np.random.default_rng(SEED)
    highest = max(_dimension(s) for s in subdomains)
    subdomains = [s for s in subdomains if _dimension(s) == highest]
    measures = np.array([_measure(s, rng) for s in subdomains])
    weights = measures / measures.sum() if measures.sum() > 0 else np.full(len(subdomains), 1 / len(subdomains))
    ranges = value_ranges(problem)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in problem.variables}
    for subdomain, weight in zip(subdomains, weights):
        share = max(1, math.ceil(count * weight))
        drawn = _draw(subdomain, share, rng, "sobol")
        for name in parts:
            held = np.full(share, float(np.mean(ranges.get(name, (0.0, 0.0)))))
            parts[name].append(np.asarray(drawn.get(name, held), dtype=np.float64))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def _ranges(subdomain: Subdomain) -> list[tuple[float, float]]:
    return [(lo, hi) for lo, hi in parse_params(subdomain.params).values() if lo != hi]


def _dimension(subdomain: Subdomain) -> int:
    """The subdomain's dimension in the problem's variables: its geometry's, less one on a boundary, plus
    one per varying parameter."""
    geometric = len(subdomain.geometry.dims) - (subdomain.kind == "boundary")
    return geometric + len(_ranges(subdomain))


def _draw(subdomain: Subdomain, count: int, rng: np.random.Generator, sampler: str) -> dict[str, np.ndarray]:
    return sample_subdomain(
        subdomain.geometry, subdomain.kind, count, subdomain.params, subdomain.criteria, rng, sampler,
        name=subdomain.name,
    )  # fmt: skip


def _measure(subdomain: Subdomain, rng: np.random.Generator) -> float:
    """The subdomain's measure: its geometry's (criteria included, estimated) times its parameters' ranges."""
    area = float(np.sum(_draw(subdomain, MEASURE_PROBE, rng, "uniform")["area"]))
    return area * math.prod(hi - lo for lo, hi in _ranges(subdomain))


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
