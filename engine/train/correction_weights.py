"""The loss weight of each constraint inside a correction stage, from the error its residual implies.

A correction learns the parent's error ``e``, of size ``eps`` and dominant frequency ``f_d``
(:mod:`engine.train.correction`). Constraint ``C`` shows such an error as a residual of size

    rho_C = c_C (2 pi f_d)^k_C * eps

(``k_C`` the highest derivative order of the output in it, ``c_C`` its coefficient: 1 for
``Eq(u, g)``, 1000 for ``1000 u''``). The correction's loss weighs ``C`` by ``1 / rho_C^2``
(times the stage's own ``constraints.<C>.weight``), so every term is a squared error in
units of ``eps``: a term starts near ``(E_C / eps)^2``, ``E_C`` the error its residual
implies, and none vanishes from the loss because its residual is small in absolute terms.
A boundary residual of 1e-6 next to an interior residual of 1e-3 stands for the same error
when the equation multiplies the error by 1000; with the stage's plain weights a correction
of a soft-boundary problem lowered the interior residual, let the boundary values drift, and
its loss fell 1000 times while its error did not (docs/precision.md).

The amplification is taken at ``f_d`` for every constraint, interior equations included, and
not from the residual's whole spectrum: the errors a correction makes and removes are at the
low frequencies its features start at, and an equation weighted by its high-frequency
residual content under-weighed them (a first correction then gained 2x instead of 10^4x).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .correction import Measured, OutputCorrection


@dataclass(frozen=True)
class ConstraintWeight:
    """How much one constraint weighs in a correction stage's loss, and why."""

    constraint: str
    factor: float  # multiplies constraints.<C>.weight (or data.<D>.weight)
    residual_scale: float  # rho: the residual an error of size eps shows in this constraint
    implied_error: float  # the error the parent's residual of this constraint implies
    output: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def amplification(measured: Measured, correction: OutputCorrection) -> float:
    """The factor by which a constraint's residual magnifies an error of its output at its ``f_d``."""
    return measured.amplification(correction.f_d)


def constraint_weights(corrections: Mapping[str, OutputCorrection]) -> dict[str, ConstraintWeight]:
    """``1 / rho_C^2`` for every measured constraint, ``rho_C`` the largest over the outputs it involves."""
    weights: dict[str, ConstraintWeight] = {}
    for correction, measured in ((c, m) for c in corrections.values() for m in c.measured):
        scale = amplification(measured, correction) * correction.eps
        if not math.isfinite(scale) or scale <= 0:
            continue
        known = weights.get(measured.constraint)
        if known is None or scale > known.residual_scale:
            implied = measured.eps(correction.f_d)
            weights[measured.constraint] = ConstraintWeight(measured.constraint, 1.0 / scale**2, scale, implied, measured.output)
    return weights


def weighted_config(config: Mapping[str, Any], weights: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``config`` with each constraint's (or data constraint's) weight multiplied by its correction factor."""
    result = {**config, "constraints": dict(config["constraints"]), "data": dict(config["data"])}
    for name, weight in weights.items():
        section = "constraints" if name in result["constraints"] else "data"
        if name not in result[section]:
            continue  # a constraint problem.py no longer has
        settings = dict(result[section][name])
        base = settings["weight"]
        factor = float(weight["factor"])
        settings["weight"] = base * factor if isinstance(base, (int, float)) else f"({base}) * {factor!r}"
        result[section][name] = settings
    return result
