"""Geometry shapes, CSG and rotation: points in place, unit outward normals, measures, samplers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

from engine.errors import ProblemError
from engine.problem.geometry import (
    NORMALS,
    Box,
    Channel2D,
    Circle,
    Cylinder,
    GeometryDifference,
    GeometryIntersection,
    GeometryUnion,
    Line1D,
    Line2D,
    Point1D,
    Polygon,
    Rectangle,
    Sphere,
    rotate,
    unit_samples,
)
from engine.problem.sampling import sample_parameters

R, L, theta = sp.symbols("R L theta")
N = 20_000
SAMPLERS = ("uniform", "sobol", "halton")

# id -> (geometry, parameter spec, exact interior measure or None, exact boundary measure)
SHAPES = {
    "line1d": (Line1D("line", 0, 1), {}, 1.0, 2.0),
    "point1d": (Point1D("pt", 0.3), {}, None, 1.0),
    "rectangle": (Rectangle("rect", (0, 0), (2, 1)), {}, 2.0, 6.0),
    "channel": (Channel2D("channel", (0, 0), (2, 1)), {}, 2.0, 4.0),
    "circle": (Circle("disk", (0.5, -0.5), 0.5), {}, np.pi / 4, np.pi),
    "polygon_ccw": (Polygon("tri", [(0, 0), (1, 0), (0, 1)]), {}, 0.5, 2 + np.sqrt(2)),
    "polygon_cw": (Polygon("l", [(0, 0), (0, 2), (1, 2), (1, 1), (2, 1), (2, 0)]), {}, 3.0, 8.0),
    "line2d": (Line2D("wall", (1, 0), (1, 2)), {}, None, 2.0),
    "box": (Box("box", (0, 0, 0), (1, 2, 3)), {}, 6.0, 22.0),
    "sphere": (Sphere("ball", (1, 0, 0), 1), {}, 4 / 3 * np.pi, 4 * np.pi),
    "cylinder": (Cylinder("can", (0, 0, 1), 1, 2), {}, 2 * np.pi, 6 * np.pi),
    "rect_minus_circle": (
        GeometryDifference("plate", Rectangle("r", (0, 0), (1, 1)), Circle("hole", (0.5, 0.5), 0.25)),
        {},
        1 - np.pi / 16,
        4 + np.pi / 2,
    ),
    "union": (
        GeometryUnion("u", Rectangle("a", (0, 0), (1, 1)), Rectangle("b", (0.5, 0.5), (1.5, 1.5))),
        {},
        1.75,
        6.0,
    ),
    "intersection": (
        GeometryIntersection("i", Rectangle("a", (0, 0), (1, 1)), Circle("c", (1, 1), 0.5)),
        {},
        np.pi / 16,
        1 + np.pi / 4,
    ),
    "box_minus_sphere": (
        GeometryDifference("cube", Box("b", (-1, -1, -1), (1, 1, 1)), Sphere("s", (0, 0, 0), R)),
        {R: (0.2, 0.4)},
        8 - 4 / 3 * np.pi * 0.03,  # E[R^3] = 0.03 for R ~ U(0.2, 0.4)
        24 + 4 * np.pi * 0.09333333333333334,  # E[R^2]
    ),
    "param_line": (Line1D("rod", 0, L), {L: (1, 2)}, 1.5, 2.0),
    "rotated_rect": (rotate(Rectangle("rr", (0, 0), (2, 1)), theta), {theta: (0, 1)}, 2.0, 6.0),
    "rotated_cylinder": (rotate(Cylinder("rc", (0, 0, 0), 1, 2), np.pi / 3, "x", (0, 1, 0)), {}, 2 * np.pi, 6 * np.pi),
}


def draw(shape: str, kind: str, n: int = N, sampler: str = "uniform", seed: int = 0):
    geometry, spec, _, _ = SHAPES[shape]
    rng = np.random.default_rng(seed)
    params = sample_parameters(spec, n, rng, sampler)
    sample = geometry.sample_interior if kind == "interior" else geometry.sample_boundary
    return geometry, params, sample(n, rng, sampler, params)


INTERIOR = [key for key, (g, *_) in SHAPES.items() if g.has_interior]


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("shape", INTERIOR)
def test_interior_points_are_inside_with_exact_sdf_and_area(shape: str, sampler: str) -> None:
    geometry, params, rows = draw(shape, "interior", sampler=sampler)
    assert set(rows) == {*geometry.dims, "sdf", "area"}
    assert all(len(column) == N and column.dtype == np.float64 for column in rows.values())
    assert rows["sdf"].min() >= -1e-12
    np.testing.assert_allclose(geometry.sdf(rows, params), rows["sdf"])
    assert rows["area"].sum() == pytest.approx(SHAPES[shape][2], rel=0.03)
    lo, hi = geometry.bounds(params)
    points = np.stack([rows[d] for d in geometry.dims], axis=1)
    assert np.all(points >= lo - 1e-12) and np.all(points <= hi + 1e-12)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_boundary_points_on_boundary_with_unit_outward_normals(shape: str, sampler: str) -> None:
    geometry, params, rows = draw(shape, "boundary", sampler=sampler)
    assert set(rows) == {*geometry.dims, *NORMALS, "area"}
    assert np.abs(geometry.sdf(rows, params)).max() < 1e-9
    normals = np.stack([rows[key] for key in NORMALS], axis=1)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert np.all(normals[:, len(geometry.dims) :] == 0)
    stepped = {d: rows[d] + 1e-6 * rows[f"normal_{d}"] for d in geometry.dims}
    assert np.all(geometry.sdf(stepped, params) < 0)
    assert rows["area"].sum() == pytest.approx(SHAPES[shape][3], rel=0.05)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sample_call_returns_exactly_n_points_without_warnings(sampler: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for shape, (geometry, *_) in SHAPES.items():
            for kind in ("interior", "boundary") if geometry.has_interior else ("boundary",):
                for n in (1, 7, 1000, 1234):
                    _, _, rows = draw(shape, kind, n=n, sampler=sampler)
                    assert all(len(column) == n for column in rows.values()), (shape, kind, n)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samples_are_reproducible_for_a_seed(sampler: str) -> None:
    for shape in ("polygon_cw", "rect_minus_circle", "box_minus_sphere"):
        _, _, first = draw(shape, "interior", n=500, sampler=sampler, seed=3)
        _, _, again = draw(shape, "interior", n=500, sampler=sampler, seed=3)
        _, _, other = draw(shape, "interior", n=500, sampler=sampler, seed=4)
        for key in first:
            np.testing.assert_array_equal(first[key], again[key])
        assert not np.array_equal(first["x"], other["x"])


def test_unit_samples() -> None:
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sampler in SAMPLERS:
            u = unit_samples(1000, 3, rng, sampler)
            assert u.shape == (1000, 3) and u.min() >= 0 and u.max() < 1
    sobol = unit_samples(1024, 2, rng, "sobol")
    counts, _, _ = np.histogram2d(sobol[:, 0], sobol[:, 1], bins=4, range=[[0, 1], [0, 1]])
    assert np.all(counts == 64)  # a scrambled Sobol net is perfectly stratified
    with pytest.raises(ProblemError, match="unknown sampler 'grid'.*uniform, sobol, halton"):
        unit_samples(10, 2, rng, "grid")


def test_line1d_end_points_and_counting_measure() -> None:
    _, _, rows = draw("line1d", "boundary", n=1000)
    assert set(np.unique(rows["x"])) == {0.0, 1.0}
    np.testing.assert_array_equal(rows["normal_x"], np.where(rows["x"] == 0, -1.0, 1.0))
    assert abs(np.mean(rows["x"]) - 0.5) < 0.05
    np.testing.assert_allclose(rows["area"], 2 / 1000)


def test_point1d_is_boundary_only() -> None:
    geometry, _, rows = draw("point1d", "boundary", n=10)
    np.testing.assert_array_equal(rows["x"], 0.3)
    np.testing.assert_array_equal(rows["normal_x"], 1.0)
    np.testing.assert_allclose(rows["area"], 0.1)
    assert not geometry.has_interior
    with pytest.raises(ProblemError, match="Point1D 'pt' has no interior: use add_boundary_subdomain"):
        geometry.sample_interior(10, np.random.default_rng(0), "uniform", {})


def test_line2d_normal_is_tangent_turned_clockwise() -> None:
    geometry, _, rows = draw("line2d", "boundary", n=100)
    np.testing.assert_array_equal(rows["x"], 1.0)
    assert rows["y"].min() >= 0 and rows["y"].max() <= 2
    np.testing.assert_array_equal(rows["normal_x"], 1.0)
    np.testing.assert_allclose(rows["area"], 2 / 100)
    assert geometry.sdf({"x": np.array([0.5, 1.5]), "y": np.array([1.0, 1.0])}, {}) == pytest.approx([0.5, -0.5])
    with pytest.raises(ProblemError, match="Line2D 'wall' has no interior"):
        geometry.sample_interior(10, np.random.default_rng(0), "uniform", {})


def test_channel_boundary_is_only_the_walls() -> None:
    geometry, _, rows = draw("channel", "boundary", n=1000)
    assert set(np.unique(rows["y"])) == {0.0, 1.0}
    np.testing.assert_array_equal(rows["normal_y"], np.where(rows["y"] == 0, -1.0, 1.0))
    np.testing.assert_array_equal(rows["normal_x"], 0.0)
    sdf = geometry.sdf({"x": np.array([0.1, 5.0, 1.0]), "y": np.array([0.25, 0.5, 2.0])}, {})
    np.testing.assert_allclose(sdf, [0.25, 0.5, -1.0])


@pytest.mark.parametrize(
    ("geometry", "point", "expected"),
    [
        (Line1D("l", 0, 1), (1.5,), -0.5),
        (Rectangle("r", (0, 0), (2, 1)), (0.5, 0.25), 0.25),
        (Rectangle("r", (0, 0), (2, 1)), (3, 2), -np.sqrt(2)),
        (Circle("c", (0, 0), 1), (3, 4), -4.0),
        (Polygon("p", [(0, 0), (2, 0), (2, 2), (0, 2)]), (0.5, 1), 0.5),
        (Polygon("p", [(0, 0), (0, 2), (2, 2), (2, 0)]), (3, 3), -np.sqrt(2)),
        (Box("b", (0, 0, 0), (1, 1, 1)), (2, 2, 0.5), -np.sqrt(2)),
        (Sphere("s", (0, 0, 0), 1), (0, 0, 0.25), 0.75),
        (Cylinder("c", (0, 0, 0), 1, 2), (0, 0.5, 0.9), 0.1),
        (Cylinder("c", (0, 0, 0), 1, 2), (0, 4, 5), -5.0),
        (GeometryDifference("d", Rectangle("r", (0, 0), (4, 4)), Circle("c", (2, 2), 1)), (2, 2.5), -0.5),
    ],
)
def test_sdf_is_the_signed_distance(geometry, point, expected) -> None:
    points = {d: np.array([v], dtype=float) for d, v in zip(geometry.dims, point)}
    assert geometry.sdf(points, {})[0] == pytest.approx(expected)


def test_difference_has_no_interior_points_in_the_hole() -> None:
    _, _, rows = draw("rect_minus_circle", "interior")
    assert np.all(np.hypot(rows["x"] - 0.5, rows["y"] - 0.5) >= 0.25)
    geometry, params, rows = draw("box_minus_sphere", "interior")
    radius = np.sqrt(rows["x"] ** 2 + rows["y"] ** 2 + rows["z"] ** 2)
    assert np.all(radius >= params["R"])
    assert np.all((params["R"] >= 0.2) & (params["R"] <= 0.4))
    _, params, rows = draw("box_minus_sphere", "boundary")
    on_sphere = np.abs(np.stack([rows["x"], rows["y"], rows["z"]], axis=1)).max(axis=1) < 1 - 1e-9
    radius = np.sqrt(rows["x"] ** 2 + rows["y"] ** 2 + rows["z"] ** 2)[on_sphere]
    np.testing.assert_allclose(radius, params["R"][on_sphere])
    normals = np.stack([rows[key] for key in NORMALS], axis=1)[on_sphere]
    points = np.stack([rows["x"], rows["y"], rows["z"]], axis=1)[on_sphere]
    np.testing.assert_allclose(normals, -points / radius[:, None])  # into the hole


def test_union_and_intersection_membership() -> None:
    _, _, rows = draw("union", "interior")
    in_a = (rows["x"] <= 1) & (rows["y"] <= 1)
    in_b = (rows["x"] >= 0.5) & (rows["y"] >= 0.5)
    assert np.all(in_a | in_b)
    assert np.mean(in_a & in_b) == pytest.approx(0.25 / 1.75, abs=0.01)  # the overlap's share
    _, _, rows = draw("intersection", "interior")
    assert np.all((rows["x"] <= 1) & (rows["y"] <= 1) & (np.hypot(rows["x"] - 1, rows["y"] - 1) <= 0.5))
    _, _, rows = draw("union", "boundary")
    shared = (rows["x"] > 0.5) & (rows["x"] < 1) & (rows["y"] > 0.5) & (rows["y"] < 1)
    assert not np.any(shared)


def test_parametric_sphere_radius_per_point() -> None:
    sphere = Sphere("s", (0, 0, 0), R)
    assert sphere.parameters() == {R}
    rng = np.random.default_rng(0)
    params = sample_parameters({R: (0.5, 2.0)}, N, rng, "uniform")
    rows = sphere.sample_interior(N, rng, "uniform", params)
    assert np.all(np.sqrt(rows["x"] ** 2 + rows["y"] ** 2 + rows["z"] ** 2) <= params["R"] + 1e-12)
    np.testing.assert_allclose(rows["area"], 4 / 3 * np.pi * params["R"] ** 3 / N)
    rows = sphere.sample_boundary(N, rng, "uniform", params)
    np.testing.assert_allclose(np.sqrt(rows["x"] ** 2 + rows["y"] ** 2 + rows["z"] ** 2), params["R"])
    lo, hi = sphere.bounds(params)
    np.testing.assert_allclose(hi[:, 0], params["R"])


def test_rotation_turns_points_normals_and_sdf() -> None:
    square = Rectangle("sq", (0, 0), (2, 1))
    turned = rotate(square, np.pi / 2)
    rng = np.random.default_rng(0)
    rows = turned.sample_interior(1000, rng, "uniform", {})
    assert rows["x"].min() >= -1 - 1e-12 and rows["x"].max() <= 1e-12
    assert rows["y"].min() >= -1e-12 and rows["y"].max() <= 2 + 1e-12
    rows = turned.sample_boundary(1000, rng, "uniform", {})
    left = np.isclose(rows["x"], -1)
    np.testing.assert_allclose(rows["normal_x"][left], -1, atol=1e-12)
    lo, hi = turned.bounds({})
    np.testing.assert_allclose([lo[0], hi[0]], [[-1, 0], [0, 2]], atol=1e-12)
    about = rotate(square, sp.pi, center=(1, 0.5))
    point = {"x": np.array([0.25]), "y": np.array([0.5])}
    assert about.sdf(point, {})[0] == pytest.approx(square.sdf(point, {})[0])
    box = rotate(Box("b", (0, 0, 0), (1, 1, 2)), np.pi / 2, "y")  # z -> x
    rows = box.sample_interior(1000, rng, "uniform", {})
    assert rows["x"].max() <= 2 + 1e-12 and rows["x"].min() >= -1e-12 and rows["z"].max() <= 1e-12
    assert turned.name == "sq" and turned.describe()["rotate"]["axis"] == "z"


def test_rotation_errors() -> None:
    with pytest.raises(ProblemError, match="rotates about z"):
        rotate(Rectangle("r", (0, 0), (1, 1)), 1.0, "x")
    with pytest.raises(ProblemError, match="1D and cannot be rotated"):
        rotate(Line1D("l", 0, 1), 1.0)
    with pytest.raises(ProblemError, match="axis 'w'"):
        rotate(Box("b", (0, 0, 0), (1, 1, 1)), 1.0, "w")


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ProblemError, match=r"Rectangle 'r': a must be a point with 2 coordinate\(s\) \(x, y\)"):
        Rectangle("r", (0, 0, 0), (1, 1))
    with pytest.raises(ProblemError, match="Circle 'c': radius must be a real number"):
        Circle("c", (0, 0), "1 +")
    with pytest.raises(ProblemError, match="Polygon 'p': points must be a list of at least 3"):
        Polygon("p", [(0, 0), (1, 1)])
    with pytest.raises(ProblemError, match="GeometryUnion 'u' combines .* same dimension"):
        GeometryUnion("u", Rectangle("r", (0, 0), (1, 1)), Box("b", (0, 0, 0), (1, 1, 1)))
    with pytest.raises(ProblemError, match="Line2D 'w' has no interior and cannot be combined"):
        GeometryDifference("d", Rectangle("r", (0, 0), (1, 1)), Line2D("w", (0, 0), (1, 1)))
    with pytest.raises(ProblemError, match="Sphere 's': radius uses parameter R, but no value or range"):
        Sphere("s", (0, 0, 0), R).sample_interior(10, np.random.default_rng(0), "uniform", {})
    with pytest.raises(ProblemError, match="Circle 'c': radius must be >= 0"):
        Circle("c", (0, 0), -1).sample_boundary(10, np.random.default_rng(0), "uniform", {})
    x = sp.Symbol("x")
    with pytest.raises(ProblemError, match="depends on x, a coordinate of this geometry"):
        Circle("c", (0, 0), x)
    with pytest.raises(ProblemError, match="GeometryIntersection 'i' has \\(almost\\) no interior"):
        disjoint = GeometryIntersection("i", Rectangle("a", (0, 0), (1, 1)), Rectangle("b", (2, 2), (3, 3)))
        disjoint.sample_interior(10, np.random.default_rng(0), "uniform", {})


def test_describe_and_str() -> None:
    sphere = Sphere("s", (0, 0, 1), R)
    assert str(sphere) == "s"
    assert sphere.describe() == {
        "type": "Sphere",
        "name": "s",
        "dims": ["x", "y", "z"],
        "args": {"center": "(0, 0, 1)", "radius": "R"},
        "params": ["R"],
    }
    plate = SHAPES["rect_minus_circle"][0]
    assert plate.describe()["args"] == {"g": "r", "og": "hole"}
    assert SHAPES["box_minus_sphere"][0].parameters() == {R}
    assert Polygon("p", [(0, 0), (1, 0), (0, L)]).describe()["args"] == {"points": "[(0, 0), (1, 0), (0, L)]"}
