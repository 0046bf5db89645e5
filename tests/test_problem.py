"""The problem language: MTC's API, loaded from real project folders."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from sympy import Function, Symbol

from engine.compile import BatchFields, NetworkBinding, as_columns, compile_problem
from engine.problem import load_problem
from engine.problem.sampling import sample_subdomain
from engine.project import find_example

HEAT = find_example("heat-interface").path


def test_seed_002_problem_loads_unchanged():
    p = load_problem(HEAT)
    assert list(p.networks) == ["metalNN", "paperNN"]
    assert list(p.submodels) == ["T_metal", "T_paper"]
    assert list(p.subdomains) == ["interior_metal", "interior_paper", "interface"]
    assert list(p.constraints) == ["metal_diff", "paper_diff", "interface_eq", "interface_flux"]
    assert p.model is not None and p.model.name == "T" and len(p.model.pieces) == 2
    # two networks share the input symbol x
    assert p.networks["metalNN"].inputs == p.networks["paperNN"].inputs == ("x",)


def test_submodels_are_expanded_into_network_outputs():
    p = load_problem(HEAT)
    x = Symbol("x")
    u_metal = Function("u_metal")(x)
    expected = -(1000 * (u_metal * x).diff(x, 2) + 100)
    assert sympy.simplify(p.constraints["metal_diff"].residual - expected.doit()) == 0


class Polynomials(torch.nn.Module):
    """u_metal = 1 + 2x + 3x^2, u_paper = cos(x): known functions standing in for networks."""

    def __init__(self, which: str):
        super().__init__()
        self.which = which

    def forward(self, batch):
        x = batch[:, 0]
        value = 1 + 2 * x + 3 * x**2 if self.which == "metal" else torch.cos(x)
        return value[:, None]


def test_heat_interface_residuals_and_model_match_sympy():
    p = load_problem(HEAT)
    compiled = compile_problem(p)
    x = Symbol("x")
    exact = {Function("u_metal")(x): 1 + 2 * x + 3 * x**2, Function("u_paper")(x): sympy.cos(x)}
    nets = {
        "metalNN": NetworkBinding(("x",), ("u_metal",), Polynomials("metal")),
        "paperNN": NetworkBinding(("x",), ("u_paper",), Polynomials("paper")),
    }
    xs = np.random.default_rng(0).uniform(0, 1, 50)
    for name, constraint in p.constraints.items():
        residual = compiled.residuals[name]
        fields = BatchFields(nets, as_columns({"x": xs}, requires_grad=residual.grad_variables))
        want = sympy.lambdify(x, constraint.residual.xreplace(exact).doit(), "numpy")(xs)
        np.testing.assert_allclose(residual(fields).detach().numpy(), np.broadcast_to(want, xs.shape), rtol=1e-12)
    fields = BatchFields(nets, as_columns({"x": xs}))
    t_metal = xs * (1 + 2 * xs + 3 * xs**2)
    t_paper = (xs - 1) * np.cos(xs)
    np.testing.assert_allclose(compiled.model(fields).numpy(), np.where(xs < 0.5, t_metal, t_paper), rtol=1e-12)
    np.testing.assert_allclose(compiled.submodels["T_paper"](fields).numpy(), t_paper, rtol=1e-12)


def test_criteria_split_the_line_at_the_interface():
    p = load_problem(HEAT)
    rng = np.random.default_rng(1)
    for name, keep in (("interior_metal", lambda v: v <= 0.5), ("interior_paper", lambda v: v >= 0.5)):
        sd = p.subdomains[name]
        pts = sample_subdomain(sd.geometry, sd.kind, 500, sd.params, sd.criteria, rng)
        assert keep(pts["x"]).all() and len(pts["x"]) == 500
    sd = p.subdomains["interface"]
    pts = sample_subdomain(sd.geometry, sd.kind, 10, sd.params, sd.criteria, rng)
    np.testing.assert_array_equal(pts["x"], 0.5)


def test_parameters_become_sampled_columns():
    p = load_problem(find_example("wave-1d").path)
    sd = p.subdomains["initial_t0"]
    pts = sample_subdomain(sd.geometry, sd.kind, 100, sd.params, sd.criteria, np.random.default_rng(0))
    np.testing.assert_array_equal(pts["t"], 0.0)
    sd = p.subdomains["interior"]
    pts = sample_subdomain(sd.geometry, sd.kind, 100, sd.params, sd.criteria, np.random.default_rng(0))
    assert (pts["t"] >= 0).all() and (pts["t"] <= 2 * np.pi).all()
    data = p.data_constraints["sensors"]
    assert data.inputs == ("x", "t") and data.target == "u" and data.rows == 189


@pytest.mark.parametrize("example", ["hello-world", "heat-interface", "inverse-1d", "parametric-1d", "poisson-2d", "precision-1d", "two-frequency-1d", "wave-1d"])
def test_every_example_compiles_and_evaluates(example):
    from engine.compile import CompiledExpression

    p = load_problem(find_example(example).path)
    compiled = compile_problem(p)
    nets = {
        n.name: NetworkBinding(n.inputs, n.outputs, torch.nn.Linear(len(n.inputs), len(n.outputs)).double())
        for n in p.networks.values()
    }
    rng = np.random.default_rng(0)
    for name, c in p.constraints.items():
        residual: CompiledExpression = compiled.residuals[name]
        pts = sample_subdomain(c.subdomain.geometry, c.subdomain.kind, 64, c.subdomain.params, c.subdomain.criteria, rng)
        pts.update({name: np.full(64, unknown.initial) for name, unknown in p.unknowns.items()})
        value = residual(BatchFields(nets, as_columns(pts, requires_grad=residual.grad_variables)))
        assert value.shape == (64,) and torch.isfinite(value).all()


def test_sdf_and_normals_are_usable_in_equations(project_with):
    folder = project_with(
        """
        from cfg import *
        [x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
        disk = p.Circle("disk", (0, 0), 1)
        inside = p.add_interior_subdomain("inside", geom=disk)
        rim = p.add_boundary_subdomain("rim", geom=disk)
        p.add_constraint("weighted", enforce(equation=Eq(sdf * u, 0), on_domain=inside))
        p.add_constraint("flux", enforce(equation=Eq(normal_x * u.diff(x) + normal_y * u.diff(y), 0), on_domain=rim))
        """
    )
    p = load_problem(folder)
    assert {str(s) for s in p.constraints["flux"].residual.free_symbols} >= {"normal_x", "normal_y"}
    assert p.outline().constraints["weighted"].symbols >= {"x", "y", "sdf"}


def test_mtc_style_imports_and_set_constraints(project_with):
    folder = project_with(
        """
        from mtc.problem import *
        from cfg import p

        [x, t], [u] = p.add_neural_network(name="wave1d", inputs=["x", "t"], outputs=["u"])
        geo = p.Line1D("geom", 0, 1)
        interior = p.add_interior_subdomain("interior", geom=geo, params={t: (0, 1)})
        p.set_constraints({"wave": enforce(equation=Eq(u.diff(t, 2), u.diff(x, 2)), on_domain=interior)})
        """
    )
    assert list(load_problem(folder).constraints) == ["wave"]


def test_data_constraint_reads_npz_and_hdf5(project_with, tmp_path):
    import h5py

    folder = project_with(
        """
        from cfg import *
        [x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
        p.add_data_constraint("a", model=u, data_fname="d.npz")
        p.add_data_constraint("b", model=u, data_fname="d.h5")
        """
    )
    xs = np.linspace(0, 1, 7)
    np.savez(folder / "d.npz", x=xs, u=xs**2)
    with h5py.File(folder / "d.h5", "w") as f:
        f["x"], f["u"] = xs, xs**2
    p = load_problem(folder)
    assert p.data_constraints["a"].rows == p.data_constraints["b"].rows == 7
