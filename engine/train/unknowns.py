"""A stage's unknown constants (``p.add_unknown``): trainable scalars behind a smooth map into their bounds.

Each unknown trains a raw parameter ``r``; its value is ``lo + (hi - lo) * sigmoid(r)``
with both bounds (in log space when ``lo > 0``), ``lo + softplus(r)`` or ``hi - softplus(r)``
with one, and ``r`` itself with none. Checkpoints keep the values (``unknowns``), so a child
or a resumed stage starts from them even when the bounds changed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Callable, Mapping

import torch

from ..problem import Problem
from ..problem.unknowns import ROW_PREFIX, Unknown
from .loss_rows import logging_values

KEY = "_unknowns"  # the unknowns' name among the stage's modules (optimizer state, parameters)
_EDGE = 1e-12  # a value carried onto a bound is moved this (relative) far inside it


def _softplus_inverse(y: float) -> float:
    return y + math.log(-math.expm1(-y)) if y < 30 else y


def _sigmoid_inverse(s: float) -> float:
    s = min(max(s, _EDGE), 1 - _EDGE)
    return math.log(s / (1 - s))


def _log_space(unknown: Unknown) -> bool:
    lo, hi = unknown.bounds
    return lo is not None and hi is not None and lo > 0


def raw_value(unknown: Unknown, value: float) -> float:
    """The raw parameter that gives ``value`` (a value outside the bounds is moved just inside them)."""
    lo, hi = unknown.bounds
    if lo is not None and hi is not None:
        if _log_space(unknown):
            return _sigmoid_inverse((math.log(max(value, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo)))
        return _sigmoid_inverse((value - lo) / (hi - lo))
    if lo is not None:
        return _softplus_inverse(max(value - lo, _EDGE * (1 + abs(lo))))
    if hi is not None:
        return _softplus_inverse(max(hi - value, _EDGE * (1 + abs(hi))))
    return value


def bounded(unknown: Unknown, raw: torch.Tensor) -> torch.Tensor:
    """The value of ``unknown`` for the raw parameter ``raw`` (differentiable)."""
    lo, hi = unknown.bounds
    if lo is not None and hi is not None:
        if _log_space(unknown):
            return torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * torch.sigmoid(raw)).clamp(lo, hi)
        return lo + (hi - lo) * torch.sigmoid(raw)
    if lo is not None:
        return lo + torch.nn.functional.softplus(raw)
    if hi is not None:
        return hi - torch.nn.functional.softplus(raw)
    return raw


class Unknowns(torch.nn.Module):
    """The unknown constants of a stage, one raw scalar parameter each."""

    def __init__(self, unknowns: Mapping[str, Unknown], start: Mapping[str, float], dtype: torch.dtype):
        super().__init__()
        self.specs = dict(unknowns)
        self.raw = torch.nn.ParameterDict({
            name: torch.nn.Parameter(torch.tensor(raw_value(u, start[name]), dtype=dtype)) for name, u in unknowns.items()
        })  # fmt: skip

    def values(self) -> dict[str, torch.Tensor]:
        """Each unknown's current value as a 0-d tensor (gradients flow to its raw parameter)."""
        return {name: bounded(u, self.raw[name]) for name, u in self.specs.items()}

    def numbers(self) -> dict[str, float]:
        """Each unknown's current value."""
        with torch.no_grad():
            return {name: float(value) for name, value in self.values().items()}


def build_unknowns(
    problem: Problem, config: Mapping[str, Any], saved: Mapping[str, Any] | None, dtype: torch.dtype, device: torch.device
) -> Unknowns:
    """The stage's unknowns, starting from ``saved["unknowns"]`` (a parent's or resumed checkpoint, or a
    correction record, which holds its parent's values) else their ``initial``."""
    carried = (saved or {}).get("unknowns") or {}
    start = {name: float(carried.get(name, u.initial)) for name, u in problem.unknowns.items()}
    module = Unknowns(problem.unknowns, start, dtype).to(device)
    for name, settings in config.get("unknowns", {}).items():
        module.raw[name].requires_grad_(settings["trainable"])
    return module


def with_values(problem: Problem, values: Mapping[str, float]) -> Problem:
    """A copy of ``problem`` whose constraints read each unknown as its number in ``values`` (it has no unknowns).

    A correction stage measures its parent's residuals this way: with the parent's learned values.
    """
    if not problem.unknowns:
        return problem
    numbers = {u.symbol: float(values.get(name, u.initial)) for name, u in problem.unknowns.items()}
    fixed = copy.copy(problem)
    fixed._constraints = {
        name: dataclasses.replace(c, residual=c.residual.subs(numbers), integrands=tuple(f.subs(numbers) for f in c.integrands))
        for name, c in problem.constraints.items()
    }  # fmt: skip
    fixed._data_constraints = {
        name: dataclasses.replace(d, expanded=d.expanded.subs(numbers)) for name, d in problem.data_constraints.items()
    }
    fixed._unknowns = {}
    return fixed


def with_unknowns(terms: list[Any], unknowns: Unknowns) -> list[Any]:
    """The loss terms, each reading the unknowns' current values as columns."""
    if not unknowns.specs:
        return terms
    return [dataclasses.replace(term, scalars=unknowns.values) for term in terms]


def stage_optimizer(
    build: Callable[[Mapping[str, Any], list[torch.nn.Parameter]], torch.optim.Optimizer],
    params: Mapping[str, torch.nn.Parameter],
    unknowns: Unknowns,
    config: Mapping[str, Any],
) -> torch.optim.Optimizer:
    """``build(config["optimizer"], params)``, with each trainable unknown whose ``lr_scale`` is not 1 in
    its own parameter group (lr * lr_scale). L-BFGS and the Gauss-Newton methods (lm, engd) take one group
    only: they ignore ``lr_scale``.
    """
    settings = config["optimizer"]
    scales = {name: s["lr_scale"] for name, s in config.get("unknowns", {}).items() if s["trainable"] and s["lr_scale"] != 1.0}
    if settings["name"] in ("lbfgs", "lm", "engd") or not scales:
        return build(settings, list(params.values()))
    own = {id(unknowns.raw[name]) for name in scales}
    groups = [([p for p in params.values() if id(p) not in own], 1.0)]
    groups += [([unknowns.raw[name]], scale) for name, scale in scales.items()]
    groups = [(ps, scale) for ps, scale in groups if ps]
    optimizer = build(settings, groups[0][0])
    optimizer.param_groups[0]["lr"] = settings["lr"] * groups[0][1]
    for ps, scale in groups[1:]:
        optimizer.add_param_group({"params": ps, "lr": settings["lr"] * scale})
    return optimizer


def logging_unknowns(log: Callable[[list[Any]], None], unknowns: Unknowns) -> Callable[[list[Any]], None]:
    """``log`` that adds a row ``unknown/<name>`` with the current value at every logged step."""
    if not unknowns.specs:
        return log

    return logging_values(log, lambda: {ROW_PREFIX + name: value for name, value in unknowns.numbers().items()})
