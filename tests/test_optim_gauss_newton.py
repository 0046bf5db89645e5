"""Gauss-Newton optimizers (lm, engd): precision on a small PINN, vs Adam, resume, frozen networks, refusals.

Every test trains float64 tanh 16x2 networks for a few dozen steps on the CPU; errors are measured
against the exact solutions of the shipped examples, not the loss alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import default_config, set_values
from engine.config.schema import OPTIMIZER_SETTINGS
from engine.errors import MtcError
from engine.inference import load_stage
from engine.kinds import precision_warning
from engine.layout import stage_folder
from engine.problem import load_problem
from engine.project import create_project
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.checkpoint import load_checkpoint
from engine.train.loop import StepClosure, draw_batches
from engine.train.optim import OPTIMIZERS
from engine.train.stage import prepare
from engine.stages import StageBook
from conftest import example_project, run_mtc

SMALL = ["nets.{net}.layer_size=16", "nets.{net}.nr_layers=2", "nets.{net}.activation=tanh"]
X = np.linspace(0, 1, 201)


def config(folder, *assignments, nets=("NN",)):
    outline = load_problem(folder).outline()
    settings = [s.format(net=n) for n in nets for s in SMALL]
    base = ["training.precision=float64", "training.log_every=1", "scheduler.name=constant"]
    return set_values(default_config(outline), [*base, *settings, *assignments], outline)


def run(folder, stage, cfg, **plan):
    rows, warnings = [], []
    outcome = train_stage(StagePlan(folder, stage, cfg, **plan), StageHooks(log=rows.extend, warn=warnings.append))
    return outcome, rows, warnings


def series(rows, key):
    return [value for _, _, k, value in rows if k == key]


def hello_error(folder, stage):
    return float(np.abs(load_stage(folder, stage).predict({"x": X})["u"] - X * (1 - X) / 2).max())


@pytest.fixture
def hello(tmp_path):
    return create_project(tmp_path / "hello", example="hello-world")


TANH = """
    from cfg import *
    # u'' = f on [0, 1], u = tanh(2 x - 1) at both ends: a tanh network of one neuron solves it exactly
    [x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
    geom = p.Line1D("geom", 0, 1)
    exact = tanh(2 * x - 1)
    interior, ends = p.add_interior_subdomain("interior", geom=geom), p.add_boundary_subdomain("ends", geom=geom)
    p.add_constraint("equation", enforce(equation=Eq(u.diff(x, 2), exact.diff(x, 2)), on_domain=interior))
    p.add_constraint("boundary", enforce(equation=Eq(u, exact), on_domain=ends))
"""
TINY = ["nets.NN.layer_size=4", "nets.NN.nr_layers=1", "nets.NN.activation=tanh", "training.precision=float64",
        "training.log_every=1", "scheduler.name=constant", "constraints.equation.batch_size=200",
        "constraints.boundary.batch_size=20", "training.resample_every=1000"]  # fmt: skip


def tanh_stage(folder, stage, *assignments, parent=None):
    outline = load_problem(folder).outline()
    _, rows, warnings = run(folder, stage, set_values(default_config(outline), [*TINY, *assignments], outline), parent=parent)
    error = np.abs(load_stage(folder, stage).predict({"x": X})["u"] - np.tanh(2 * X - 1)).max()
    return rows, warnings, float(error)


def test_lm_solves_a_tiny_pinn_to_1e_12(project_with):
    folder = project_with(TANH)
    rows, warnings, error = tanh_stage(folder, "lm", "optimizer.name=lm", "training.max_steps=25")
    losses = series(rows, "total")
    assert losses[-1] < 1e-12 < losses[0] and error < 1e-9 and not warnings
    assert {"lr", "damping"} <= {key for _, _, key, _ in rows} and all(d > 0 for d in series(rows, "damping"))


def test_lm_leaves_hard_terms_out_of_its_residuals_and_of_the_points_it_needs(project_with):
    # a hard constraint's residual is zero: its rows would be zero Jacobian rows, and counting its points
    # toward optimizer.points_per_parameter would leave the trained residuals short of it
    folder = project_with(TANH)
    outline = load_problem(folder).outline()
    settings = [*TINY, "optimizer.name=lm", "constraints.boundary.hard=true", "optimizer.points_per_parameter=16"]
    state, _, _ = prepare(StagePlan(folder, "lm", set_values(default_config(outline), settings, outline)), StageHooks())
    batches = draw_batches(state)
    system = StepClosure(state, batches, 0, None).residuals()
    equation = len(batches[state.names.index("equation")]["x"])
    assert state.optimizer.points_needed == 16 * 13 > 200  # 13 parameters: one draw of 200 equation points is short
    assert system.count == equation == 400 and [t.name for t in system.terms] == ["equation"]
    vector, jac = system.jacobian()
    losses = system.losses(vector)
    assert jac.shape == (400, 13) and set(losses) == {"equation", "boundary"} and losses["boundary"] < 1e-28


def test_engd_solves_a_tiny_pinn_to_1e_12_after_adam(project_with):
    folder = project_with(TANH)
    tanh_stage(folder, "adam", "optimizer.lr=0.01", "training.max_steps=300")
    rows, warnings, error = tanh_stage(folder, "engd", "optimizer.name=engd", "training.max_steps=15", parent="adam")
    losses = series(rows, "total")
    assert losses[-1] < 1e-12 < losses[0] and error < 1e-9 and not warnings
    assert max(series(rows, "lr")) == 1.0  # full natural-gradient steps once close


def test_lm_and_engd_lower_the_loss_faster_per_step_than_adam(hello):
    finals = {}
    for name, extra in (("adam", "optimizer.lr=0.01"), ("lm", "optimizer.damping=0.001"), ("engd", "optimizer.damping=1e-10")):
        _, rows, _ = run(hello, name, config(hello, f"optimizer.name={name}", extra, "training.max_steps=15"))
        finals[name] = series(rows, "total")[-1]
    assert finals["lm"] < finals["adam"] / 100 and finals["engd"] < finals["adam"] / 100


def test_conjugate_gradients_beyond_lm_max_dense_reach_the_same_precision(project_with):
    folder = project_with(TANH)
    rows, _, error = tanh_stage(folder, "cg", "optimizer.name=lm", "optimizer.lm_max_dense=5", "training.max_steps=25")
    assert series(rows, "total")[-1] < 1e-12 and error < 1e-9


def test_lm_stage_resumes_exactly_where_it_stopped(hello):
    cfg = config(hello, "optimizer.name=lm", "training.max_steps=12", "training.checkpoint_every=6")
    _, straight, _ = run(hello, "straight", cfg)
    calls = []
    stop = StageHooks(stop_requested=lambda: calls.append(1) or len(calls) >= 6)
    assert train_stage(StagePlan(hello, "resumed", cfg), stop) == "cancelled"
    saved = load_checkpoint(stage_folder(hello, "resumed"), "resumed")
    assert saved["step"] == 6 and saved["optimizer"]["kind"] == "lm" and saved["optimizer"]["global"]["damping"] > 0
    _, rows, _ = run(hello, "resumed", cfg, resume=True)
    assert sorted({step for step, *_ in rows}) == list(range(6, 12))
    assert series(rows, "damping") == pytest.approx(series(straight, "damping")[6:], rel=1e-9)
    final = load_checkpoint(stage_folder(hello, "resumed"), "resumed")["networks"]["NN"]
    for key, value in load_checkpoint(stage_folder(hello, "straight"), "straight")["networks"]["NN"].items():
        torch.testing.assert_close(final[key], value, rtol=1e-9, atol=1e-12)


def test_lm_child_leaves_a_frozen_network_untouched(tmp_path):
    heat = create_project(tmp_path / "heat", example="heat-interface")
    nets = ("metalNN", "paperNN")
    parent = config(heat, "training.max_steps=20", "optimizer.lr=0.01", nets=nets)
    run(heat, "s1", parent)
    child = set_values(
        parent, ["nets.metalNN.trainable=false", "optimizer.name=lm", "training.max_steps=5"], load_problem(heat).outline()
    )
    _, rows, _ = run(heat, "s2", child, parent="s1")
    first = load_checkpoint(stage_folder(heat, "s1"), "s1")["networks"]
    second = load_checkpoint(stage_folder(heat, "s2"), "s2")["networks"]
    for key, value in first["metalNN"].items():
        assert torch.equal(value, second["metalNN"][key])
    assert any(not torch.equal(v, second["paperNN"][k]) for k, v in first["paperNN"].items())
    assert series(rows, "total")[-1] < series(rows, "total")[0]


def test_then_lm_steps_finish_an_adam_stage(project_with):
    folder = project_with(TANH)
    rows, _, error = tanh_stage(folder, "s1", "optimizer.lr=0.01", "training.max_steps=300", "training.then_lm_steps=30")
    losses = series(rows, "total")
    assert len(losses) == 330 and losses[-1] < 1e-12 < 1e-5 < losses[299] and error < 1e-9
    assert [step for step, _, key, _ in rows if key == "damping"] == list(range(300, 330))
    assert load_checkpoint(stage_folder(folder, "s1"), "s1")["optimizer"]["kind"] == "lm"


def test_lm_too_large_for_the_dense_solve_without_cg_is_refused(hello):
    cfg = config(hello, "optimizer.name=lm", "optimizer.lm_max_dense=100", "optimizer.lm_cg=false")
    with pytest.raises(MtcError, match=r"321 parameters, more than optimizer.lm_max_dense=100.*optimizer.lm_cg=true"):
        run(hello, "big", cfg)
    assert run(hello, "fits", config(hello, "training.max_steps=1", "training.then_lm_steps=1"))[0] == "done"


def test_gauss_newton_in_float32_warns():
    cfg = {"training": {"precision": "float32", "then_lm_steps": 0}, "optimizer": {"name": "engd"}}
    assert "float64" in precision_warning("s1", "standard", cfg)
    cfg = {"training": {"precision": "float32", "then_lm_steps": 5}, "optimizer": {"name": "adam"}}
    assert "Gauss-Newton" in precision_warning("s1", "standard", cfg)
    cfg = {"training": {"precision": "float64", "then_lm_steps": 5}, "optimizer": {"name": "lm"}}
    assert precision_warning("s1", "standard", cfg) is None


def test_registry_and_schema_list_the_same_optimizers():
    assert list(OPTIMIZERS) == list(OPTIMIZER_SETTINGS) == ["adam", "adamw", "sgd", "lbfgs", "lm", "engd"]


def test_lm_without_cg_on_a_large_network_is_refused_when_set_and_nothing_is_written(tmp_path):
    folder = example_project(tmp_path / "hello", "hello-world")
    refused = run_mtc("stage", "set", "stage1", "optimizer.name=lm", "optimizer.lm_cg=false", cwd=folder)
    assert refused.returncode != 0
    assert "1314817 parameters, more than optimizer.lm_max_dense=4000" in refused.stderr  # 512 x 6 default network
    with StageBook(folder) as book:
        assert book.stage("stage1").config["optimizer"]["name"] == "adam"
        book.edit("stage1", ["nets.NN.layer_size=16", "nets.NN.nr_layers=2"])
        book.edit("stage1", ["optimizer.name=lm", "optimizer.lm_cg=false"])  # 321 parameters: dense
        with pytest.raises(MtcError, match="9601 parameters, more than optimizer.lm_max_dense=4000"):
            book.new_child("stage1", "wide", ["nets.NN.layer_size=96"])  # keeps lm without CG
        book.new_child("stage1", "fine", ["nets.NN.layer_size=64", "optimizer.name=adam", "training.then_lm_steps=5"])


@pytest.mark.parametrize("activation", ["silu", "gelu", "sin"])
def test_lm_steps_train_networks_of_any_activation(hello, activation):
    cfg = config(hello, f"nets.NN.activation={activation}", "training.max_steps=1", "training.then_lm_steps=3")
    outcome, rows, _ = run(hello, activation, cfg)
    totals = series(rows, "total")
    assert outcome == "done" and totals[-1] < totals[0]


def test_lm_on_a_problem_with_learned_unknowns_is_refused_when_set(tmp_path):
    folder = example_project(tmp_path / "inverse", "inverse-1d")
    refused = run_mtc("stage", "set", "stage1", "optimizer.name=lm", cwd=folder)
    assert refused.returncode != 0 and "lm does not learn unknown constants (k)" in refused.stderr
    accepted = run_mtc("stage", "set", "stage1", "optimizer.name=lm", "unknowns.k.trainable=false", cwd=folder)
    assert accepted.returncode == 0, accepted.stderr
