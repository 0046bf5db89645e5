"""What a correction stage computes when it starts: ``eps`` and ``f_d`` per network output.

Wang & Lai (J. Comput. Phys. 2024, "Multi-stage neural networks: function
approximator of machine precision"): the parent's remaining error is a small,
high-frequency function. The correction network therefore

* is scaled by ``eps``, the error's magnitude, so that it learns an O(1) function.
  For a PINN the error itself is unknown; its equation residual ``r`` is known, and a
  k-th order operator multiplies an error of frequency ``f_d`` by about
  ``c (2 pi f_d)^k`` (``c``: the operator's coefficient of those derivatives), so
  ``eps = RMS(r) / (c (2 pi f_d)^k)`` for a residual of one frequency. On a grid, eps is the
  RMS of the error the whole residual spectrum implies (each component divided by
  ``c (2 pi |f|)^k``, :func:`implied_error_rms`), which is the same for one frequency and
  does not charge a broadband residual's high-frequency part to the low frequency f_d;
* starts with Fourier features of angular scale ``sigma = 2 pi f_d``.

``eps`` is :data:`EPS_MARGIN` (3) times that implied error: on precision-1d (4 seeds) a correction
whose eps was the error's size gained 1-12x, and one or two of them raised the error when the
estimate fell short of the output's actual error; with 3 times it, 24-88x. An eps larger than the
error costs little (3-30 times it all gained 15-30x), one smaller than it is what fails
(docs/precision.md).

``f_d`` comes from the FFT of the residual on a uniform grid. By default
(``training.correction_frequency=error``) it is the peak of the residual's spectrum
divided by ``(2 pi f)^k``, i.e. of the error spectrum the residual implies; with
``residual`` it is the residual's own peak, as in the paper. Both are recorded
(``f_d`` and ``f_residual``). A k-th order residual weights an error component of
frequency f by f^k, so its own peak sits above the error's: a correction tuned to it
removes the residual's high-frequency part and leaves the error (docs/precision.md).

The grid covers the subdomain's bounding box in the network's inputs (coordinates and
ranged parameters), uses cell centres (shifted off the boundary and off any regular
pattern of training points) and has more points than a training batch. Frequencies
come from ``numpy.fft.rfftfreq(n, d=dx)`` (cycles per unit; 2 pi is applied once,
in ``sigma``). A subdomain that is not a box (a disk, or criteria cutting the box)
is handled by zeroing the residual at grid points outside it; the recorded
``method`` says which was done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sympy
import torch
from sympy import Derivative
from sympy.core.function import AppliedUndef

from ..compile import BatchFields, CompiledExpression, CompiledProblem, NetworkBinding, as_columns
from ..errors import MtcError
from ..problem import Problem
from ..problem.datafiles import load_columns
from ..problem.entities import Subdomain
from ..problem.sampling import compile_criteria, parse_params, sample_subdomain

TWO_PI = 2 * math.pi
MIN_GRID_POINTS = 4096
MAX_GRID_POINTS = 65536
MIN_PER_AXIS = 16
CHUNK = 16384
EPS_MARGIN = 3.0  # eps is this many times the implied error (an underestimate is what makes a correction fail)
COEFFICIENT_FLOOR = 0.01  # |c| below this share of its largest value counts as this share (implied_error_rms)
SNAP = 0.02  # a sampled extent this close (relative) to the geometric bound is the bound


@dataclass(frozen=True)
class OutputCorrection:
    """How one network output is corrected: ``u = u_parent + eps * u_corr``, features of scale 2 pi f_d."""

    output: str
    eps: float
    f_d: float
    sigma: float
    f_residual: float | None  # the peak of the residual's own spectrum (Wang & Lai's f_d)
    residual_rms: float
    order: int
    coefficient: float
    constraint: str | None
    method: str
    measured: tuple["Measured", ...] = ()  # every constraint's measurement of this output (for the weights)
    implied_error: float = 0.0  # the largest error the residuals imply; eps is EPS_MARGIN times it

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        del record["measured"]
        return record


def odd_extension(values: np.ndarray) -> np.ndarray:
    """``values`` on cell centres of a box, extended oddly across its upper side along every axis.

    The extension has period twice the box, so its Fourier series is a sine series of the box: the
    error it implies vanishes on the box's sides instead of being the periodic continuation of a
    residual that jumps from one side to the other (whose 1/f leakage, divided by (2 pi f)^k, made
    the implied error of an accurate parent tens of times its actual error).
    """
    for axis in range(values.ndim):
        values = np.concatenate([values, -np.flip(values, axis=axis)], axis=axis)
    return values


def _spectrum(
    values: np.ndarray, spacing: Sequence[float], inside: np.ndarray | None, odd: bool = False
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The real FFT of ``values`` (points outside zeroed; the mean of those inside removed, or with
    ``odd`` the values extended oddly, :func:`odd_extension`), the radial frequency |f| of each
    coefficient (cycles per unit) and the frequencies of each axis."""
    values = np.asarray(values, dtype=float)
    if values.ndim != len(spacing):
        raise ValueError(f"{values.ndim}-D values need {values.ndim} grid spacings, got {len(spacing)}")
    inside = np.ones(values.shape, dtype=bool) if inside is None else np.asarray(inside, dtype=bool)
    if odd:
        centred = odd_extension(np.where(inside, values, 0.0))
    else:
        centred = np.where(inside, values - values[inside].mean(), 0.0)
    last = values.ndim - 1
    axes = [
        (np.fft.rfftfreq if axis == last else np.fft.fftfreq)(n, d=dx)
        for axis, (n, dx) in enumerate(zip(centred.shape, spacing))
    ]
    radius = np.sqrt(sum(np.square(a) for a in np.meshgrid(*axes, indexing="ij")))
    return np.fft.rfftn(centred), radius, axes


def dominant_frequency(
    values: np.ndarray, spacing: Sequence[float], inside: np.ndarray | None = None, order: int = 0
) -> tuple[float, tuple[float, ...]] | None:
    """The dominant frequency (cycles per unit) of ``values`` sampled on a uniform grid.

    ``values`` has one axis per coordinate, ``spacing`` the grid step of each. Points
    where ``inside`` is False are set to zero (after removing the mean of the others).
    With ``order`` k the spectrum is divided by ``|f|^k`` first (the error a k-th order
    residual implies). Returns ``(|f|, (f_1, ..., f_d))`` at the largest amplitude of the
    spectrum without its constant term, or None when the values are constant.
    """
    transform, radius, axes = _spectrum(values, spacing, inside)
    spectrum = np.abs(transform)
    spectrum.flat[0] = 0.0
    if order:
        radius.flat[0] = np.inf
        spectrum = spectrum / radius**order
    if not np.any(spectrum > 1e-300):
        return None
    peak = np.unravel_index(int(np.argmax(spectrum)), spectrum.shape)
    frequencies = tuple(float(abs(a[peak[axis]])) for axis, a in enumerate(axes))
    return math.sqrt(sum(f * f for f in frequencies)), frequencies


def implied_error_rms(
    values: np.ndarray,
    spacing: Sequence[float],
    order: int,
    coefficient: float | np.ndarray = 1.0,
    inside: np.ndarray | None = None,
) -> float:
    """The RMS of the error a k-th order residual implies: each Fourier component of its odd
    extension (a sine series of the box) divided by ``(2 pi |f|)^k``, transformed back, divided by
    the operator's coefficient ``c`` (a number, or its value at each grid point), measured at the
    points inside.

    For a residual of one frequency and a constant c this is ``correction_eps(RMS, f, k, c)``; for a
    broadband one it weights each frequency by the error it stands for, where
    ``RMS / (c (2 pi f_d)^k)`` would charge the high-frequency part of the residual to the low
    frequency f_d. A coefficient that varies is divided out point by point (``|c|`` held at least
    :data:`COEFFICIENT_FLOOR` of its largest value): for ``u = x (1 - x) v`` the error of ``v`` is
    the error of ``u`` over ``x (1 - x)``, larger near the ends than RMS(u's error) / RMS(c) says,
    and a correction whose eps underestimates its output's error fails (docs/precision.md).
    """
    transform, radius, _ = _spectrum(values, spacing, inside, odd=True)
    radius.flat[0] = np.inf  # the odd extension has no constant part
    shape = tuple(2 * n for n in np.shape(values))
    error = np.fft.irfftn(transform / (TWO_PI * radius) ** order, s=shape, axes=list(range(len(shape))))
    error = error[tuple(slice(0, n) for n in np.shape(values))]
    magnitude = np.abs(np.broadcast_to(np.asarray(coefficient, dtype=float), error.shape))
    error = error / np.maximum(magnitude, COEFFICIENT_FLOOR * magnitude.max())
    mask = np.ones(np.shape(values), dtype=bool) if inside is None else np.asarray(inside, dtype=bool)
    return _rms(error[mask])


def correction_eps(residual_rms: float, f_d: float, order: int, coefficient: float = 1.0) -> float:
    """The expected size of the error behind a residual: ``RMS(r) / (c (2 pi f_d)^k)``."""
    return residual_rms / (coefficient * (TWO_PI * f_d) ** order)


# ----------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Grid:
    """Cell centres of a uniform grid over a subdomain's bounding box; ``columns`` only at points inside."""

    axes: tuple[str, ...]
    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    inside: np.ndarray
    columns: dict[str, np.ndarray]
    method: str


def grid_size(batch_size: int) -> int:
    """Grid points for a constraint trained with ``batch_size`` points: 16 times denser, within limits."""
    return int(min(max(16 * batch_size, MIN_GRID_POINTS), MAX_GRID_POINTS))


def subdomain_grid(subdomain: Subdomain, inputs: Sequence[str], points: int, rng: np.random.Generator) -> Grid:
    """A grid of about ``points`` cell centres over the interior subdomain's bounding box.

    Axes: the geometry's coordinates and the ranged parameters that are network ``inputs``;
    other ranged parameters are held at their midpoint. The box is the geometry's bounding
    box, tightened to where the subdomain's criteria accept points.
    """
    geometry, ranges = subdomain.geometry, parse_params(subdomain.params)
    sample = sample_subdomain(
        geometry, "interior", 4096, subdomain.params, subdomain.criteria, rng, name=subdomain.name
    )
    lo_geo, hi_geo = geometry.bounds({k: v for k, v in sample.items() if k in ranges}, len(sample["sdf"]))
    axes = list(geometry.dims) + [p for p, (lo, hi) in ranges.items() if lo != hi and p in inputs]
    exact = {d: (float(lo_geo[:, i].min()), float(hi_geo[:, i].max())) for i, d in enumerate(geometry.dims)}
    exact.update({p: ranges[p] for p in axes if p in ranges})
    lower, upper = [], []
    for axis in axes:
        lo, hi = exact[axis]
        seen_lo, seen_hi = float(sample[axis].min()), float(sample[axis].max())
        width = max(hi - lo, 1e-300)
        lower.append(lo if seen_lo - lo <= SNAP * width else seen_lo)
        upper.append(hi if hi - seen_hi <= SNAP * width else seen_hi)
    per_axis = max(MIN_PER_AXIS, int(round(points ** (1.0 / len(axes)))))
    shape = (per_axis,) * len(axes)
    spacing = tuple((hi - lo) / per_axis for lo, hi in zip(lower, upper))
    ticks = [lo + (np.arange(per_axis) + 0.5) * dx for lo, dx in zip(lower, spacing)]
    mesh = np.meshgrid(*ticks, indexing="ij")
    values = {axis: m.reshape(-1) for axis, m in zip(axes, mesh)}
    count = len(values[axes[0]])
    for name, (lo, hi) in ranges.items():
        if name not in values:
            values[name] = np.full(count, (lo + hi) / 2)
    params = {name: values[name] for name in ranges}
    values["sdf"] = np.asarray(geometry.sdf({d: values[d] for d in geometry.dims}, params), dtype=float)
    inside = values["sdf"] >= 0
    keep = compile_criteria(subdomain.criteria, [*geometry.dims, "sdf", *ranges])
    if keep is not None:
        inside &= keep(values)
    box = " x ".join(f"[{lo:.6g}, {hi:.6g}]" for lo, hi in zip(lower, upper))
    grid = f"{shape[0]}-point" if len(shape) == 1 else "x".join(map(str, shape))
    share = inside.mean()
    if share == 1.0:
        method = f"FFT on a uniform {grid} grid of cell centres over the box {box} ({', '.join(axes)})"
    else:
        method = (
            f"FFT on a uniform {grid} grid of cell centres over the bounding box {box} ({', '.join(axes)}); "
            f"the subdomain is not a box, so the residual was set to zero at the {100 * (1 - share):.1f}% of "
            "grid points outside it"
        )
    columns = {k: v[inside] for k, v in values.items()}
    return Grid(tuple(axes), shape, spacing, tuple(lower), tuple(upper), inside.reshape(shape), columns, method)


# ----------------------------------------------------------------------- residuals


def _order_and_coefficient(residual: sympy.Expr, output: str, requests: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[int, list[sympy.Expr]]:
    """The highest derivative order of ``output`` in ``residual`` and d(residual)/d(each such derivative)."""
    order = max(len(wrt) for name, wrt in requests if name == output)
    atoms: list[sympy.Basic] = [
        d for d in residual.atoms(Derivative) if d.expr.func.__name__ == output and d.derivative_count == order
    ]
    placeholders: dict[sympy.Basic, sympy.Symbol] = {
        d: sympy.Dummy(f"d{i}") for i, d in enumerate(sorted(residual.atoms(Derivative), key=sympy.default_sort_key))
    }
    replaced = residual.xreplace(placeholders)
    calls = {c: sympy.Dummy(f"f{i}") for i, c in enumerate(sorted(replaced.atoms(AppliedUndef), key=sympy.default_sort_key))}
    placeholders.update(calls)
    replaced = replaced.xreplace(calls)
    if order == 0:
        atoms = [c for c in calls if c.func.__name__ == output]
    back = {v: k for k, v in placeholders.items()}
    return order, [sympy.diff(replaced, placeholders[a]).xreplace(back) for a in atoms]


@dataclass(frozen=True)
class Measured:
    constraint: str
    output: str
    rms: float
    order: int
    coefficient: float
    f_d: float | None
    f_residual: float | None
    method: str
    error_rms: float | None = None  # the error the residual implies, from its spectrum (on a grid)

    def eps(self, f_d: float) -> float:
        """The size of the error this residual stands for (``f_d`` when it has no spectrum of its own)."""
        if self.error_rms is not None:
            return self.error_rms
        return correction_eps(self.rms, self.f_d or f_d, self.order, self.coefficient)

    def amplification(self, f_d: float) -> float:
        """The factor by which this residual magnifies an error of its output at frequency ``f_d``."""
        return self.coefficient * (TWO_PI * f_d) ** self.order


def pooled_amplification(constraint: str, found: Sequence[Measured], f_d: Mapping[str, float]) -> float:
    """``sum_o a_o^2`` over the outputs of ``constraint`` measured without a spectrum (``f_d`` per output)."""
    return sum(m.amplification(f_d[m.output]) ** 2 for m in found if m.constraint == constraint and m.error_rms is None)


def explained_error(measured: Measured, found: Sequence[Measured], f_d: Mapping[str, float]) -> float:
    """The error of ``measured.output`` that its residual stands for (``f_d`` per output).

    A condition measured without a spectrum that involves several outputs (an interface condition) is
    explained by the smallest error of all of them together, of which this output's share is
    ``RMS a_o / sum_o' a_o'^2`` (``a_o = c_o (2 pi f_d)^k_o``; one output: ``RMS / a``). Charged to
    each output alone, heat-interface's flux condition ``T_paper' = 1000 T_metal'`` stood for an
    error of ``T_paper`` 1000 times the one of ``T_metal`` that explains it, and set its eps.
    """
    if measured.error_rms is not None:
        return measured.error_rms
    total = pooled_amplification(measured.constraint, found, f_d)
    if not total > 0 or not math.isfinite(total):
        return measured.eps(f_d[measured.output])
    return measured.rms * measured.amplification(f_d[measured.output]) / total


def _evaluate(
    bindings: Mapping[str, NetworkBinding],
    columns: Mapping[str, np.ndarray],
    expressions: Sequence[CompiledExpression],
    dtype: torch.dtype,
    device: torch.device,
) -> list[np.ndarray]:
    """Each expression on the given points (in chunks), as float64 arrays."""
    grad = frozenset().union(*(e.grad_variables for e in expressions))
    rows = len(next(iter(columns.values())))
    parts: list[list[np.ndarray]] = [[] for _ in expressions]
    for start in range(0, rows, CHUNK):
        chunk = {k: v[start : start + CHUNK] for k, v in columns.items()}
        fields = BatchFields(bindings, as_columns(chunk, dtype, device, grad))
        for part, expr in zip(parts, expressions):
            part.append(expr(fields).detach().cpu().numpy().astype(np.float64))
    return [np.concatenate(p) if p else np.empty(0) for p in parts]


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if values.size else 0.0


def _measure(
    name: str,
    residual: sympy.Expr,
    compiled: CompiledExpression,
    outputs: Sequence[str],
    bindings: Mapping[str, NetworkBinding],
    columns: Mapping[str, np.ndarray],
    dtype: torch.dtype,
    device: torch.device,
    grid: Grid | None,
    method: str,
    frequency: str = "error",
) -> list[Measured]:
    """RMS, order, coefficient and (on a grid) f_d of one residual, for each output it involves."""
    plans = {out: _order_and_coefficient(residual, out, compiled.requests) for out in outputs}
    coefficients = {out: [CompiledExpression(c) for c in coefs] for out, (_, coefs) in plans.items()}
    flat = [c for out in outputs for c in coefficients[out]]
    values = _evaluate(bindings, columns, [compiled, *flat], dtype, device)
    r, rest = values[0], values[1:]
    if not np.all(np.isfinite(r)):
        raise MtcError(f"the parent's residual of {name!r} is not finite: it cannot be corrected")
    rms = _rms(r)
    full = None
    if grid is not None:
        full = np.zeros(grid.shape)
        full[grid.inside] = r
        peak = dominant_frequency(full, grid.spacing, grid.inside)
    measured = []
    for out in outputs:
        order, coefs = plans[out]
        mine, rest = rest[: len(coefs)], rest[len(coefs) :]
        pointwise = np.max(np.abs(np.stack(mine)), axis=0) if mine else np.ones(len(r))
        coefficient = _rms(pointwise)
        note = method
        if not math.isfinite(coefficient) or coefficient <= 0 or not np.all(np.isfinite(pointwise)):
            coefficient, pointwise = 1.0, np.ones(len(r))
            note += "; the operator's coefficient could not be measured, 1 was used"
        f_d = f_residual = error_rms = None
        if grid is not None and full is not None:
            field = np.full(grid.shape, coefficient)
            field[grid.inside] = np.broadcast_to(pointwise, r.shape)
            error_rms = implied_error_rms(full, grid.spacing, order, field, grid.inside)
            f_residual = None if peak is None else peak[0]
            weighted = order if frequency == "error" else 0
            found = dominant_frequency(full, grid.spacing, grid.inside, weighted) if weighted else peak
            if found is None:
                f_d = f_residual = _lowest_frequency([grid])
                note += f"; the residual is constant on the grid, so f_d = 1 / the box's width = {f_d:.6g}"
            else:
                f_d = found[0]
                if weighted:
                    note += f"; f_d is the peak of the residual's spectrum divided by (2 pi f)^{order} (the error it implies)"
                else:
                    note += "; f_d is the peak of the residual's spectrum"
        measured.append(Measured(name, out, rms, order, coefficient, f_d, f_residual, note, error_rms))
    return measured


def _lowest_frequency(grids: Sequence[Grid]) -> float:
    widths = [hi - lo for g in grids for lo, hi in zip(g.lower, g.upper) if hi > lo]
    return 1.0 / max(widths) if widths else 1.0


@dataclass(frozen=True)
class Probe:
    """Where one constraint's residual is measured: its points (a grid for an interior equation), kept so
    that the same points can be measured again (the correction guard compares scales on them)."""

    name: str
    residual: sympy.Expr
    compiled: CompiledExpression
    outputs: tuple[str, ...]
    columns: Mapping[str, np.ndarray]
    grid: Grid | None
    method: str
    frequency: str = "error"


def plan_probes(
    problem: Problem, compiled: CompiledProblem, config: Mapping[str, Any], outputs: Sequence[str], seed: int = 0
) -> list[Probe]:
    """The points on which each included constraint involving one of ``outputs`` is measured: interior
    equations on a grid (RMS and FFT), boundary constraints on sampled points and data constraints on
    their rows (RMS only). Constraints imposed exactly (``hard``) are left out."""
    rng = np.random.default_rng(seed)
    wanted = set(outputs)
    frequency = config["training"].get("correction_frequency", "error")
    grids: dict[tuple[str, tuple[str, ...]], Grid] = {}
    probes: list[Probe] = []
    for name, settings in config["constraints"].items():
        if not settings["include"] or settings.get("hard"):
            continue
        expr = compiled.residuals[name]
        involved = tuple(sorted({out for out, _ in expr.requests} & wanted))
        if not involved:
            continue
        constraint = problem.constraints[name]
        subdomain = constraint.subdomain
        inputs = tuple(sorted({v for out in involved for v in problem.network_of(out).inputs}))
        if subdomain.kind == "interior":
            key = (subdomain.name, inputs)
            if key not in grids:
                grids[key] = subdomain_grid(subdomain, inputs, grid_size(settings["batch_size"]), rng)
            grid = grids[key]
            probes.append(Probe(name, constraint.residual, expr, involved, grid.columns, grid, grid.method, frequency))
        else:
            points = sample_subdomain(
                subdomain.geometry, "boundary", max(settings["batch_size"], 1024), subdomain.params,
                subdomain.criteria, rng, name=subdomain.name,
            )  # fmt: skip
            method = f"RMS on {len(points['area'])} sampled points of the boundary constraint {name!r} (no FFT)"
            probes.append(Probe(name, constraint.residual, expr, involved, points, None, method))
    for name, settings in config["data"].items():
        data = problem.data_constraints[name]
        target = sympy.Symbol("_mtc_target")
        expr = CompiledExpression(data.expanded - target)
        involved = tuple(sorted({out for out, _ in expr.requests} & wanted))
        if not settings["include"] or not involved:
            continue
        table = load_columns(data.path, [*data.inputs, data.target])
        table["_mtc_target"] = table.pop(data.target)
        method = f"RMS on the {len(table['_mtc_target'])} rows of the data constraint {name!r} (no FFT)"
        probes.append(Probe(name, data.expanded - target, expr, involved, table, None, method))
    return probes


def measure_probes(
    probes: Sequence[Probe],
    bindings: Mapping[str, NetworkBinding],
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> list[Measured]:
    """Every probe's residual of the model in ``bindings``, measured (one entry per probe and output)."""
    device = torch.device(device)
    found: list[Measured] = []
    for probe in probes:
        found += _measure(
            probe.name, probe.residual, probe.compiled, probe.outputs, bindings, probe.columns, dtype, device,
            probe.grid, probe.method, probe.frequency,
        )  # fmt: skip
    return found


def estimate_corrections(
    problem: Problem,
    compiled: CompiledProblem,
    bindings: Mapping[str, NetworkBinding],
    config: Mapping[str, Any],
    outputs: Sequence[str],
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> dict[str, OutputCorrection]:
    """``eps`` and ``f_d`` for each of ``outputs`` from the residuals of the model in ``bindings``.

    Every included constraint involving an output is measured (:func:`plan_probes`).
    ``f_d`` comes from the interior equation whose residual implies the largest error (for an
    output no interior equation involves: the largest ``f_d`` of the other outputs); ``eps``
    is the largest error estimate ``RMS / (c (2 pi f)^k)`` over all of them (for a condition on
    several outputs this output's share, :func:`explained_error`), since an
    interface or boundary condition can leave a larger error than the equation suggests. How
    it was decided is recorded in ``method``; an output no included constraint involves gets
    eps 0. Constraints imposed exactly (``hard``) are left out; each output's measurements are
    kept in its ``measured`` (the correction weights use them).
    """
    probes = plan_probes(problem, compiled, config, outputs, seed)
    grids = list({id(p.grid): p.grid for p in probes if p.grid is not None}.values())
    return _choose(measure_probes(probes, bindings, dtype, device), grids, outputs)


def _choose(found: Sequence[Measured], grids: Sequence[Grid], outputs: Sequence[str]) -> dict[str, OutputCorrection]:
    """eps and f_d of each output from the measured residuals (see :func:`estimate_corrections`)."""
    spectral = [m for m in found if m.f_d is not None]
    fallback_f = max((m.f_d for m in spectral), default=None)  # type: ignore[type-var]
    frequencies: dict[str, tuple[float, float | None, str]] = {}
    for out in outputs:
        with_fft = [m for m in found if m.output == out and m.f_d is not None]
        if with_fft:  # the interior equation whose residual implies the largest error sets f_d
            source = max(with_fft, key=lambda m: m.eps(1.0))
            frequencies[out] = (source.f_d, source.f_residual, source.method)  # type: ignore[assignment]
        else:
            where = "the largest f_d of the other outputs" if fallback_f is not None else "1 / the domain's width"
            f_d = fallback_f if fallback_f is not None else _lowest_frequency(grids)
            frequencies[out] = (f_d, None, f"no interior equation involves {out!r}, so f_d is {where}")
    f_ds = {out: f for out, (f, _, _) in frequencies.items()}
    result = {}
    for out in outputs:
        mine = [m for m in found if m.output == out]
        f_d, f_residual, frequency_note = frequencies[out]
        if not mine:
            f_d = fallback_f or 1.0
            result[out] = OutputCorrection(
                out, 0.0, f_d, TWO_PI * f_d, None, 0.0, 0, 1.0, None,
                f"no included constraint involves {out!r}: not corrected (eps 0)",
            )  # fmt: skip
            continue
        # every constraint involving the output estimates its error; the largest estimate is eps
        # (an interface or boundary condition can leave a larger error than the equation suggests)
        implied, chosen = max(((explained_error(m, found, f_ds), m) for m in mine), key=lambda c: c[0])
        method = frequency_note if chosen.f_d is not None else f"eps from {chosen.method}; f_d: {frequency_note}"
        result[out] = OutputCorrection(
            out, EPS_MARGIN * implied, f_d, TWO_PI * f_d, f_residual, chosen.rms, chosen.order, chosen.coefficient,
            chosen.constraint, f"{method}; eps = {EPS_MARGIN:g} x the implied error", tuple(mine), implied,
        )  # fmt: skip
    return result
