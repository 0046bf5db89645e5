"""Subdomain sampling: per-point parameters, criteria by rejection, and the area weight of each point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import sympy

from engine.errors import EmptySubdomainError, ProblemError
from engine.problem.geometry.base import NORMALS, Geometry, Values, unit_samples
from engine.problem.geometry.rejection import rejection_sample, shares

ParamSpec = dict[sympy.Symbol, tuple[float, float] | float]
"""Parameter -> a range (lo, hi) or a fixed value; (v, v) is fixed too."""

Mask = Callable[[Values], np.ndarray]

COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": lambda a, b: np.isclose(a, b, rtol=1e-9, atol=1e-12),
    "!=": lambda a, b: ~np.isclose(a, b, rtol=1e-9, atol=1e-12),
}
CONNECTIVES: dict[type, Callable[..., np.ndarray]] = {
    sympy.And: np.logical_and,
    sympy.Or: np.logical_or,
    sympy.Xor: np.logical_xor,
}


def _number(name: str, value: Any) -> float:
    try:
        return float(sympy.sympify(value))
    except (sympy.SympifyError, TypeError, ValueError):
        raise ProblemError(
            f"parameter {name}: {value!r} is not a number; give a number or a (low, high) range"
        ) from None


def parse_params(spec: ParamSpec) -> dict[str, tuple[float, float]]:
    """Each parameter name -> (lo, hi), lo == hi for fixed values; a range written high-to-low is accepted."""
    ranges = {}
    for symbol, value in spec.items():
        name = str(symbol)
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ProblemError(f"parameter {name}: a range is (low, high), got {value!r}")
            lo, hi = sorted((_number(name, value[0]), _number(name, value[1])))  # (0, -pi/6) as MTC: between the two
            ranges[name] = (lo, hi)
        else:
            ranges[name] = (_number(name, value),) * 2
    return ranges


def sample_parameters(spec: ParamSpec, n: int, rng: np.random.Generator, sampler: str) -> Values:
    """n values per parameter (keys ``str(symbol)``): fixed values repeated, ranges sampled jointly."""
    ranges = parse_params(spec)
    varying = [name for name, (lo, hi) in ranges.items() if lo != hi]
    u = unit_samples(n, len(varying), rng, sampler)
    out = {name: np.full(n, lo) for name, (lo, _) in ranges.items()}
    for i, name in enumerate(varying):
        lo, hi = ranges[name]
        out[name] = lo + u[:, i] * (hi - lo)
    return out


def _numeric(expr: sympy.Expr) -> Mask:
    symbols = sorted(expr.free_symbols, key=str)
    fn = sympy.lambdify(symbols, expr, "numpy")

    def evaluate(values: Values) -> np.ndarray:
        n = len(next(iter(values.values())))
        return np.broadcast_to(np.asarray(fn(*(values[str(s)] for s in symbols)), dtype=float), (n,))

    return evaluate


def _compile(expr: sympy.Basic, text: str) -> Mask:
    """A vectorised boolean mask for a sympy condition."""
    if isinstance(expr, sympy.logic.boolalg.BooleanAtom):
        constant = bool(expr)
        return lambda values: np.full(len(next(iter(values.values()))), constant)
    if isinstance(expr, sympy.Not):
        inner = _compile(expr.args[0], text)
        return lambda values: ~inner(values)
    if type(expr) in CONNECTIVES:
        combine = CONNECTIVES[type(expr)]
        parts = [_compile(arg, text) for arg in expr.args]
        return lambda values: combine.reduce([part(values) for part in parts])
    if isinstance(expr, sympy.core.relational.Relational) and expr.rel_op in COMPARISONS:
        compare = COMPARISONS[expr.rel_op]
        lhs, rhs = _numeric(expr.lhs), _numeric(expr.rhs)
        return lambda values: compare(lhs(values), rhs(values))
    raise ProblemError(
        f"criteria {text}: cannot evaluate {expr}; use comparisons (<, <=, >, >=, Eq, Ne) "
        "combined with And, Or, Not (~), Xor"
    )


def compile_criteria(criteria: Any, columns: list[str]) -> Mask | None:
    """A vectorised boolean mask for ``criteria`` over the given columns (None when it accepts everything).

    ``Eq``/``Ne`` compare with a tolerance (rtol 1e-9, atol 1e-12) since sampled coordinates are floats.
    """
    if criteria is None:
        return None
    try:
        expr = sympy.sympify(criteria)
    except (sympy.SympifyError, TypeError, ValueError):
        expr = None
    if not isinstance(expr, sympy.logic.boolalg.Boolean):
        raise ProblemError(f"criteria must be a condition such as x <= 1/2 or And(x > 0, y < 1), got {criteria!r}")
    if expr is sympy.true:
        return None
    unknown = sorted({str(s) for s in expr.free_symbols} - set(columns))
    if unknown:
        raise ProblemError(
            f"criteria {expr} uses {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not "
            f"available here; available: {', '.join(columns)}"
        )
    return _compile(expr, str(expr))


def sample_subdomain(
    geometry: Geometry,
    kind: Literal["interior", "boundary"],
    n: int,
    params: ParamSpec,
    criteria: Any,
    rng: np.random.Generator,
    sampler: str = "uniform",
    *,
    name: str | None = None,
) -> Values:
    """n points of a geometry's interior or boundary with their parameter columns, restricted by ``criteria``.

    ``params`` holds the geometry's and the subdomain's parameters (merged); each point gets its own values.
    ``area`` is scaled so that its sum estimates the measure of the criteria-restricted set.
    ``name`` names the subdomain in error messages.
    """
    what = f"subdomain '{name}'" if name else f"{kind} subdomain of {geometry.kind}"
    if kind not in ("interior", "boundary"):
        raise ProblemError(f"{what}: kind must be 'interior' or 'boundary', got {kind!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ProblemError(f"{what}: the number of points must be a positive integer, got {n!r}")
    outputs = [*geometry.dims, *(("sdf",) if kind == "interior" else NORMALS)]
    _check_params(geometry, params, outputs, what)
    keep = compile_criteria(criteria, [*outputs, *(str(symbol) for symbol in params)])
    sample = geometry.sample_interior if kind == "interior" else geometry.sample_boundary

    def draw(m: int) -> Values:
        values = sample_parameters(params, m, rng, sampler)
        rows = sample(m, rng, sampler, values)
        rows.update(values)
        return rows

    if keep is None:
        return draw(n)

    def candidates(slots: np.ndarray) -> tuple[Values, np.ndarray, np.ndarray]:
        rows = draw(len(slots))
        return rows, keep(rows), rows["area"] * len(slots)

    def fail(accepted: int, drawn: int) -> ProblemError:
        if accepted == 0:
            return EmptySubdomainError(
                f"{what} is empty: criteria {criteria} rejects every point of {geometry.kind} "
                f"({drawn} {kind} points tried); loosen the criteria or check the geometry's extent"
            )
        return ProblemError(
            f"{what}: criteria {criteria} accepts too few points of {geometry.kind} "
            f"({accepted} of {n} found in {drawn} tries); loosen the criteria or ask for fewer points"
        )

    rows, measure, total = rejection_sample(n, candidates, fail)
    rows["area"] = shares(total, measure)
    return rows


def _check_params(geometry: Geometry, params: ParamSpec, outputs: list[str], what: str) -> None:
    """Every geometry parameter has a value, and no parameter shadows an output column."""
    given = {str(symbol) for symbol in params}
    missing = sorted({str(symbol) for symbol in geometry.parameters()} - given)
    if missing:
        raise ProblemError(
            f"{what}: {geometry.kind} depends on {', '.join(missing)}, but no value or range is given; "
            f"add e.g. {missing[0]}: (low, high) to the params of the geometry or subdomain"
        )
    clash = sorted(given & {*outputs, "area"})
    if clash:
        raise ProblemError(f"{what}: parameter name(s) {', '.join(clash)} clash with the sampled columns; rename them")
