"""Integral constraints as MTC writes them: Eq(Integral(f, x, ...), c), one residual per batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.compile import NetworkBinding, compile_problem
from engine.config import default_config, set_values
from engine.errors import ProblemError
from engine.inference import load_stage
from engine.problem import load_problem
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.terms import build_terms

ONE_D = """\
from cfg import *
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
left = p.add_boundary_subdomain("left", geom=geom, criteria=Eq(x, 0))
p.add_constraint("ode", enforce(equation=Eq(u.diff(x, 2) + 1, 0), on_domain=interior))
p.add_constraint("left", enforce(equation=Eq(u, 0), on_domain=left))
p.add_constraint("mass", enforce(equation=Eq(Integral(u, x), Rational(1, 12)), on_domain=interior))
"""

# MTC's mass balance through an inlet/outlet pair of a channel (its examples' form).
CHANNEL = """\
from cfg import *
[x, y], [u, v, pr] = p.add_neural_network(name="flow", inputs=["x", "y"], outputs=["u", "v", "pr"])
w, h = 2.0, 1.0
rect = p.Rectangle("rect", (0, 0), (w, h))
interior = p.add_interior_subdomain("interior", geom=rect)
inlet_outlet = p.add_boundary_subdomain("inlet_outlet", geom=rect, criteria=Eq(x, 0) | Eq(x, w))
nx, ny = normal_x, normal_y
p.add_constraint("continuity", enforce(equation=Eq(u.diff(x) + v.diff(y), 0), on_domain=interior))
p.add_constraint("no_mass_flux", enforce(equation=Eq(Integral(nx*u + ny*v, x, y), 0), on_domain=inlet_outlet))
"""

CIRCLE = """\
from cfg import *
[x, y], [u, v] = p.add_neural_network(name="field", inputs=["x", "y"], outputs=["u", "v"])
disk = p.Circle("disk", (0.3, -0.2), 0.7)
curve = p.add_boundary_subdomain("curve", geom=disk)
p.add_constraint("flux", enforce(equation=Eq(Integral(normal_x*u + normal_y*v, x, y), 0), on_domain=curve))
"""

PARAMETRIC = """\
from cfg import *
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
a = Symbol("a")
geom = p.Line1D("geom", 0, a, params={a: (1, 3)})
interior = p.add_interior_subdomain("interior", geom=geom)
p.add_constraint("length", enforce(equation=Eq(Integral(1 + 0*u, x), a), on_domain=interior))
p.add_constraint("fixed", enforce(equation=Eq(Integral(1 + 0*u, x), 2), on_domain=interior))
"""


def config_for(folder, *assignments):
    outline = load_problem(folder).outline()
    return set_values(default_config(outline), ["training.precision=float64", *assignments], outline)


def term_losses(folder, config, module):
    """Each constraint's loss for one batch, with ``module`` as the problem's only network."""
    problem = load_problem(folder)
    terms = build_terms(problem, compile_problem(problem), config, np.random.default_rng(0))
    (net,) = problem.networks.values()
    bindings = {net.name: NetworkBinding(net.inputs, net.outputs, module)}
    return {t.name: float(t.loss(bindings, t.columns(torch.float64, torch.device("cpu")))) for t in terms}


class Field2D(torch.nn.Module):
    """A known vector field (u, v) of (x, y): divergence-free (a stream function's curl) or radial."""

    def __init__(self, divergence_free: bool):
        super().__init__()
        self.divergence_free = divergence_free

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        x, y = xy[:, 0], xy[:, 1]
        if self.divergence_free:  # psi = sin(x) sin(y): u = -psi_y, v = psi_x
            return torch.stack([-torch.sin(x) * torch.cos(y), torch.cos(x) * torch.sin(y)], dim=1)
        return torch.stack([x, y], dim=1)  # div = 2


def test_flux_of_a_divergence_free_field_through_a_closed_curve_is_zero(project_with):
    folder = project_with(CIRCLE)
    config = config_for(folder, "constraints.flux.batch_size=4000", "training.sampler=sobol")
    assert term_losses(folder, config, Field2D(True))["flux"] < 1e-6  # |flux| < 1e-3, vs 3.08 below
    # (x, y) has divergence 2: its flux is 2 * area = 2 pi r^2, so the loss is its square
    radial = term_losses(folder, config, Field2D(False))["flux"]
    assert radial == pytest.approx((2 * math.pi * 0.7**2) ** 2, rel=1e-3)


def test_an_integral_over_a_parametric_geometry_is_taken_per_parameter_value(project_with):
    folder = project_with(PARAMETRIC)
    config = config_for(folder, "constraints.length.integral_batches=8", "constraints.fixed.integral_batches=8",
                        "constraints.length.batch_size=50", "constraints.fixed.batch_size=50")  # fmt: skip
    losses = term_losses(folder, config, torch.nn.Linear(1, 1).double())
    assert losses["length"] < 1e-20  # each batch's length is exactly its own a
    assert losses["fixed"] > 0.1  # a in (1, 3): the length is 2 only on average


@pytest.mark.slow
def test_1d_integral_constraint_trains_to_the_exact_solution(project_with):
    folder = project_with(ONE_D)
    config = config_for(
        folder, "training.max_steps=300", "training.then_lbfgs_steps=150", "optimizer.lr=0.01", "scheduler.name=constant",
        "nets.NN.layer_size=16", "nets.NN.nr_layers=2", "nets.NN.activation=tanh", "training.sampler=sobol",
        "constraints.ode.batch_size=64", "constraints.left.batch_size=1", "constraints.mass.batch_size=256",
    )  # fmt: skip
    rows = []
    assert train_stage(StagePlan(folder, "s1", config), StageHooks(log=rows.extend)) == "done"
    assert "mass" in {key for _, _, key, _ in rows}
    x = np.linspace(0, 1, 201)
    u = load_stage(folder, "s1").predict({"x": x})["u"]
    error = np.abs(u - x * (1 - x) / 2).max()
    assert error < 1e-4, error  # without the integral, u = -x^2/2 + c x fits any c


def test_mtc_mass_balance_through_inlet_and_outlet_loads_and_trains(project_with):
    folder = project_with(CHANNEL)
    problem = load_problem(folder)
    assert problem.constraints["no_mass_flux"].integrands
    config = config_for(folder, "training.max_steps=5", "training.log_every=1", "constraints.continuity.batch_size=64",
                        "constraints.no_mass_flux.batch_size=64", "constraints.no_mass_flux.integral_batches=2",
                        "nets.flow.layer_size=8", "nets.flow.nr_layers=1")  # fmt: skip
    rows = []
    assert train_stage(StagePlan(folder, "s1", config), StageHooks(log=rows.extend)) == "done"
    flux = [value for _, _, key, value in rows if key == "no_mass_flux"]
    assert len(flux) == 5 and all(math.isfinite(v) for v in flux)


BAD = {
    "a variable the subdomain does not sample": (
        'y = Symbol("y")\np.add_constraint("c", enforce(equation=Eq(Integral(u, y), 1), on_domain=interior))\n',
        "integrates over y, which the subdomain does not sample",
    ),
    "limits": (
        'p.add_constraint("c", enforce(equation=Eq(Integral(u, (x, 0, 1)), 1), on_domain=interior))\n',
        "has limits",
    ),
    "a network output outside the integral": (
        'p.add_constraint("c", enforce(equation=Eq(Integral(u, x), u), on_domain=interior))\n',
        "network outputs must be inside the Integral",
    ),
    "a derivative the networks cannot give": (
        'p.add_constraint("c", enforce(equation=Eq(Integral(sympy.Derivative(u**2, x), x), 1), on_domain=interior))\n',
        "cannot differentiate",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_integrals_are_refused_at_their_line(project_with, case):
    line, message = BAD[case]
    header = "\n".join(ONE_D.splitlines()[:4]) + "\n"
    folder = project_with(header + line)
    with pytest.raises(ProblemError, match=message) as info:
        load_problem(folder)
    assert info.value.lineno == len((header + line).splitlines())
