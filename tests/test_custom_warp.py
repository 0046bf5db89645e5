"""``p.GeometryCustomWarp``: a signed distance written in NVIDIA Warp (MTC's form), compiled and sampled."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ProblemError
from engine.problem import load_problem
from engine.problem.sampling import sample_subdomain

pytest.importorskip("warp", reason="GeometryCustomWarp needs warp-lang (a dependency of mtc)")

# A disk of radius r around (cx, cy), negative inside (MTC's Warp sign), its radius a parameter.
WARP_PROBLEM = '''\
from cfg import *
[x, y, a], [u] = p.add_neural_network(name="NN", inputs=["x", "y", "a"], outputs=["u"])
code = """
@wp.func
def disk_sdf(p: wp.vec2, r: float, cx: float, cy: float):
    return wp.length(p - wp.vec2(cx, cy)) - r
"""
shape = p.GeometryCustomWarp("disk", code, "{func}", [a, 0.25, 0.0], params={{a: (0.5, 1.0)}})
hole = p.Circle("hole", (0.25, 0), 0.1)
ring = p.GeometryDifference("ring", shape, hole)
inside = p.add_interior_subdomain("inside", geom=ring)
rim = p.add_boundary_subdomain("rim", geom=shape)
p.add_constraint("pde", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), 1), on_domain=inside))
p.add_constraint("rim", enforce(equation=Eq(u, 0), on_domain=rim))
'''


def points(problem, name, n, seed=0):
    sd = problem.subdomains[name]
    return sample_subdomain(sd.geometry, sd.kind, n, sd.params, sd.criteria, np.random.default_rng(seed), name=name)


def radius(rows):
    """Each row's distance from the disk's centre (0.25, 0)."""
    return np.hypot(rows["x"] - 0.25, rows["y"])


def test_a_warp_sdf_samples_interior_boundary_normals_and_areas(project_with):
    problem = load_problem(project_with(WARP_PROBLEM.format(func="disk_sdf")))
    shape = problem.geometries["disk"]
    assert shape.describe()["params"] == ["a"] and shape.describe()["args"]["func"] == "disk_sdf"
    inside = points(problem, "inside", 2000)
    assert (radius(inside) < inside["a"]).all() and (radius(inside) > 0.1).all()  # minus the CSG hole
    np.testing.assert_allclose(inside["sdf"], np.minimum(inside["a"] - radius(inside), radius(inside) - 0.1), atol=1e-5)
    # mtc's sign (positive inside) from the Warp function's negative inside; the area: E[pi a^2] minus the hole
    assert inside["area"].sum() == pytest.approx(np.pi * (7 / 12) - np.pi * 0.01, rel=0.06)
    rim = points(problem, "rim", 2000)
    np.testing.assert_allclose(radius(rim), rim["a"], atol=1e-5)
    assert rim["a"].min() < 0.55 and rim["a"].max() > 0.95
    normal = np.stack([rim["x"] - 0.25, rim["y"]], axis=1) / radius(rim)[:, None]
    np.testing.assert_allclose(np.stack([rim["normal_x"], rim["normal_y"]], axis=1), normal, atol=1e-3)
    assert (rim["normal_z"] == 0).all()
    assert rim["area"].sum() == pytest.approx(2 * np.pi * 0.75, rel=0.06)  # the mean perimeter


def test_warp_code_without_the_named_function_is_refused_at_its_line(project_with):
    with pytest.raises(ProblemError, match="defines no @wp.func 'naca_sdf'") as info:
        load_problem(project_with(WARP_PROBLEM.format(func="naca_sdf")))
    assert info.value.lineno == 8
