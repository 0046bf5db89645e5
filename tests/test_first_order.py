"""--only-first-order-ufunc (MTC chapter 6): higher derivatives become networks plus compatibility constraints."""

from __future__ import annotations

import numpy as np
import pytest
from sympy import Derivative
from sympy.core.function import AppliedUndef

from conftest import example_project, run_mtc
from engine.config import default_config, set_values
from engine.inference import load_stage
from engine.problem import load_problem
from engine.problem.first_order import is_recorded
from engine.stages import StageBook
from engine.train import StagePlan, train_stage

# MTC's chapter 6 "exact BC" form: the boundary values are built into a submodel.
EXACT_BC = """\
from cfg import *
[x, y], [w] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["w"])
u = p.add_submodel("u", x * (1 - x) * w)
rect = p.Rectangle("rect", (0, 0), (1, 1))
inside = p.add_interior_subdomain("inside", geom=rect)
p.add_constraint("poisson", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), -1), on_domain=inside))
p.add_constraint("mixed", enforce(equation=Eq(w.diff(x, y) + w.diff(x, 3), 0), on_domain=inside))
"""


def orders(expr):
    return [d.derivative_count for d in expr.atoms(Derivative) if isinstance(d.expr, AppliedUndef)]


def test_hello_world_is_rewritten_as_mtc_names_it(tmp_path):
    problem = load_problem(example_project(tmp_path / "hw", "hello-world"), first_order=True)
    assert problem.networks["d_dx1_uNN"].outputs == ("d_dx1_u",) and problem.networks["d_dx1_uNN"].inputs == ("x",)
    assert list(problem.constraints) == ["diffusion", "diffusion1", "ends"]
    compat = problem.constraints["diffusion1"]
    assert str(compat.equation) == "Eq(Derivative(u(x), x), d_dx1_u(x))" and compat.subdomain.name == "interior"
    assert str(problem.constraints["diffusion"].residual) == "-Derivative(d_dx1_u(x), x) - 1"


def test_submodels_mixed_and_third_derivatives_are_all_first_order(project_with):
    problem = load_problem(project_with(EXACT_BC), first_order=True)
    assert set(problem.networks) == {"NN", "d_dx1_wNN", "d_dy1_wNN", "d_dx2_wNN"}
    assert list(problem.constraints) == ["poisson", "poisson1", "poisson2", "mixed", "mixed1"]
    assert str(problem.constraints["mixed1"].equation) == "Eq(Derivative(d_dx1_w(x, y), x), d_dx2_w(x, y))"
    for constraint in problem.constraints.values():
        assert all(order == 1 for order in orders(constraint.residual)), constraint
    as_written = load_problem(project_with(EXACT_BC, name="again"))
    assert max(orders(as_written.constraints["mixed"].residual)) == 3 and not as_written.first_order


@pytest.mark.slow
def test_the_first_order_form_trains_to_the_exact_solution(tmp_path):
    folder = example_project(tmp_path / "hw", "hello-world")
    assert run_mtc("init-conf", "--only-first-order-ufunc", cwd=folder).returncode == 0
    assert is_recorded(folder)
    problem = load_problem(folder)  # the recorded form, without the flag
    outline = problem.outline()
    nets = [f"nets.{n}.{k}={v}" for n in outline.networks for k, v in (("layer_size", 16), ("nr_layers", 2), ("activation", "tanh"))]
    config = set_values(default_config(outline), [
        "training.precision=float64", "training.max_steps=300", "training.then_lbfgs_steps=100", "optimizer.lr=0.01",
        "scheduler.name=constant", "training.sampler=sobol", "constraints.diffusion.batch_size=64",
        "constraints.diffusion1.batch_size=64", "constraints.ends.batch_size=2", *nets,
    ], outline)  # fmt: skip
    assert train_stage(StagePlan(folder, "s1", config)) == "done"
    x = np.linspace(0, 1, 101)
    values = load_stage(folder, "s1").predict({"x": x})
    assert np.abs(values["u"] - x * (1 - x) / 2).max() < 1e-3
    assert np.abs(values["d_dx1_u"] - (0.5 - x)).max() < 1e-2


def test_init_conf_and_train_record_the_form_for_later_commands(tmp_path):
    folder = example_project(tmp_path / "hw", "hello-world", {"training.max_steps": 2, "nets.NN.layer_size": 8})
    shown = run_mtc("show", "problem", cwd=folder).stdout
    assert "form: as written" in shown and "d_dx1_u" not in shown
    trained = run_mtc("train", "--only-first-order-ufunc", cwd=folder)
    assert trained.returncode == 0, trained.stderr
    assert "recorded: this project now uses only first-order derivatives" in trained.stdout
    shown = run_mtc("show", "problem", cwd=folder).stdout
    assert "form: only first-order derivatives of networks" in shown and "diffusion1: Derivative(u(x), x) = d_dx1_u(x)" in shown
    with StageBook(folder) as book:
        stage1 = book.stage("stage1")
    assert stage1.status == "done" and "d_dx1_uNN" in stage1.config["nets"] and "diffusion1" in stage1.config["constraints"]
    assert stage1.config["nets"]["NN"]["layer_size"] == 8  # the user's settings were merged, not reset
