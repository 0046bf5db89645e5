"""Subdomain sampling: parameters, criteria, area weights and user errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

from engine.errors import EmptySubdomainError, ProblemError
from engine.problem.geometry import Box, Line1D, Point1D, Rectangle, Sphere
from engine.problem.sampling import compile_criteria, sample_parameters, sample_subdomain

x, y, z, t, R, nu = sp.symbols("x y z t R nu")
N = 20_000


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_sample_parameters_fixed_values_and_ranges() -> None:
    values = sample_parameters({R: 0.5, nu: (0.1, 0.1), t: (0, 2 * sp.pi)}, 1000, rng(), "sobol")
    assert list(values) == ["R", "nu", "t"]
    np.testing.assert_array_equal(values["R"], 0.5)
    np.testing.assert_array_equal(values["nu"], 0.1)
    assert values["t"].min() >= 0 and values["t"].max() < 2 * np.pi
    assert values["t"].mean() == pytest.approx(np.pi, rel=0.01)
    assert all(v.dtype == np.float64 and v.shape == (1000,) for v in values.values())
    assert sample_parameters({}, 5, rng(), "uniform") == {}


def test_a_range_written_high_to_low_is_sampled_between_its_values() -> None:
    values = sample_parameters({R: (0, -np.pi / 6)}, 1000, rng(), "uniform")["R"]  # MTC's examples write this
    assert values.min() >= -np.pi / 6 and values.max() <= 0 and values.std() > 0.1


def test_sample_parameters_errors() -> None:
    with pytest.raises(ProblemError, match="parameter R: 'big' is not a number"):
        sample_parameters({R: "big"}, 10, rng(), "uniform")
    with pytest.raises(ProblemError, match=r"parameter R: a range is \(low, high\)"):
        sample_parameters({R: (1, 2, 3)}, 10, rng(), "uniform")


def test_compile_criteria_operators() -> None:
    values = {"x": np.array([0.0, 0.5, 1.0, 200.0 * (1 + 1e-12)]), "y": np.array([1.0, -1.0, 0.5, 200.0])}
    cases = {
        x <= sp.Rational(1, 2): [True, True, False, False],
        sp.And(x > 0, y < 1): [False, True, True, False],
        sp.Or(x < 0.1, y > 0.9): [True, False, False, True],
        ~(x < 0.1): [False, True, True, True],
        sp.Not(sp.Abs(y) < 0.9): [True, True, False, True],
        sp.Eq(x, 200): [False, False, False, True],
        sp.Ne(x, 200): [True, True, True, False],
        sp.Eq(y, x): [False, False, False, True],
        sp.Xor(x > 0.2, y > 0.2): [True, True, False, False],
        x + y >= 1: [True, False, True, True],
    }
    for criteria, expected in cases.items():
        mask = compile_criteria(criteria, ["x", "y"])
        np.testing.assert_array_equal(mask(values), expected, err_msg=str(criteria))
    np.testing.assert_array_equal(compile_criteria(False, ["x"])(values), False)
    assert compile_criteria(None, ["x"]) is None
    assert compile_criteria(True, ["x"]) is None
    assert compile_criteria(sp.true, ["x"]) is None


def test_compile_criteria_errors() -> None:
    with pytest.raises(ProblemError, match=r"criteria .* uses z, which is not available here; available: x, y, sdf"):
        compile_criteria(sp.And(x > 0, z < 1), ["x", "y", "sdf"])
    with pytest.raises(ProblemError, match="criteria must be a condition"):
        compile_criteria(x + 1, ["x"])


def test_interval_with_criteria() -> None:
    line = Line1D("line", 0, 1)
    rows = sample_subdomain(line, "interior", N, {}, x <= sp.Rational(1, 2), rng())
    assert len(rows["x"]) == N and rows["x"].max() <= 0.5
    assert rows["area"].sum() == pytest.approx(0.5, rel=0.02)
    rows = sample_subdomain(line, "boundary", 100, {}, x <= sp.Rational(1, 2), rng())
    np.testing.assert_array_equal(rows["x"], 0.0)
    np.testing.assert_array_equal(rows["normal_x"], -1.0)
    assert rows["area"].sum() == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("sampler", ["uniform", "sobol", "halton"])
def test_rectangle_with_criteria(sampler: str) -> None:
    rect = Rectangle("rect", (0, 0), (1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = sample_subdomain(rect, "interior", 10_000 + 7, {}, sp.And(x > 0.2, y < 0.3), rng(), sampler)
    assert len(rows["x"]) == 10_007
    assert rows["x"].min() > 0.2 and rows["y"].max() < 0.3 and rows["sdf"].min() >= 0
    assert rows["area"].sum() == pytest.approx(0.8 * 0.3, rel=0.03)
    again = sample_subdomain(rect, "interior", 10_007, {}, sp.And(x > 0.2, y < 0.3), rng(), sampler)
    np.testing.assert_array_equal(rows["x"], again["x"])


def test_boundary_equality_criteria_uses_a_tolerance() -> None:
    rect = Rectangle("tank", (0, 0), (100, 200))
    rows = sample_subdomain(rect, "boundary", 1000, {}, sp.Eq(y, 200), rng())
    np.testing.assert_array_equal(rows["y"], 200.0)
    np.testing.assert_array_equal(rows["normal_y"], 1.0)
    assert rows["area"].sum() == pytest.approx(100, rel=0.1)


def test_extra_independent_variables_become_columns() -> None:
    rows = sample_subdomain(Line1D("rod", 0, 1), "interior", 1000, {t: (0, 2 * sp.pi)}, t < sp.pi, rng())
    assert set(rows) == {"x", "sdf", "area", "t"}
    assert rows["t"].min() >= 0 and rows["t"].max() < np.pi
    assert rows["area"].sum() == pytest.approx(0.5, rel=0.1)
    rows = sample_subdomain(Rectangle("slice", (0, 0), (1, 1)), "boundary", 1000, {z: 200.0}, None, rng())
    np.testing.assert_array_equal(rows["z"], 200.0)
    np.testing.assert_array_equal(rows["normal_z"], 0.0)
    assert rows["area"].sum() == pytest.approx(4.0)


def test_parametric_geometry_with_criteria() -> None:
    sphere = Sphere("ball", (0, 0, 0), R)
    rows = sample_subdomain(sphere, "interior", N, {R: (0.5, 1.0)}, z > 0, rng(), "sobol")
    assert np.all(np.sqrt(rows["x"] ** 2 + rows["y"] ** 2 + rows["z"] ** 2) <= rows["R"] + 1e-12)
    assert rows["z"].min() > 0
    half_volume = 2 / 3 * np.pi * (1.0**4 - 0.5**4) / (4 * 0.5)  # E[R^3] over U(0.5, 1)
    assert rows["area"].sum() == pytest.approx(half_volume, rel=0.03)
    rows = sample_subdomain(Line1D("rod", 0, R), "interior", N, {R: (1, 3)}, R > 2, rng())
    assert rows["R"].min() > 2 and np.all(rows["x"] <= rows["R"])
    assert rows["area"].sum() == pytest.approx(0.5 * 2.5, rel=0.03)  # P(R > 2) * E[R | R > 2]


def test_without_criteria_the_area_is_exact() -> None:
    rows = sample_subdomain(Box("b", (0, 0, 0), (1, 2, 3)), "boundary", 999, {}, None, rng(), "sobol")
    assert len(rows["x"]) == 999
    assert rows["area"].sum() == pytest.approx(22.0)


def test_empty_subdomain_is_a_clear_error() -> None:
    message = r"subdomain 'far' is empty: criteria x > 2 rejects every point of Line1D 'line'"
    with pytest.raises(EmptySubdomainError, match=message):
        sample_subdomain(Line1D("line", 0, 1), "interior", 100, {}, x > 2, rng(), name="far")
    with pytest.raises(EmptySubdomainError, match="is empty"):
        sample_subdomain(Rectangle("r", (0, 0), (1, 1)), "boundary", 100, {}, sp.Eq(x, 0.5), rng())


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ProblemError, match="Point1D 'pt' has no interior: use add_boundary_subdomain"):
        sample_subdomain(Point1D("pt", 0), "interior", 10, {}, None, rng())
    with pytest.raises(ProblemError, match="criteria .* uses w, which is not available here; available: x, sdf, t"):
        sample_subdomain(Line1D("line", 0, 1), "interior", 10, {t: (0, 1)}, sp.Symbol("w") > 0, rng())
    with pytest.raises(ProblemError, match="Sphere 'ball' depends on R, but no value or range is given"):
        sample_subdomain(Sphere("ball", (0, 0, 0), R), "interior", 10, {}, None, rng())
    with pytest.raises(ProblemError, match="parameter name.* x clash with the sampled columns"):
        sample_subdomain(Line1D("line", 0, 1), "interior", 10, {x: 1.0}, None, rng())
    with pytest.raises(ProblemError, match="kind must be 'interior' or 'boundary'"):
        sample_subdomain(Line1D("line", 0, 1), "inside", 10, {}, None, rng())
    with pytest.raises(ProblemError, match="positive integer"):
        sample_subdomain(Line1D("line", 0, 1), "interior", 0, {}, None, rng())
