"""KAN networks: derivatives, training, sparsity rows, grid-extension and prune children, inference, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.compile import compile_problem
from engine.config import default_config, set_values
from engine.inference import load_stage
from engine.layout import stage_folder
from engine.nets import build_network
from engine.nets.bsplines import basis, uniform_knots
from engine.nets.kan_ops import active_parameters, refine_state
from engine.problem import load_problem
from engine.project import create_project
from engine.stages import StageBook, StageError, format_training
from engine.stages.runs import submit
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.checkpoint import load_checkpoint
from engine.train.networks import bind
from engine.train.terms import build_terms

from conftest import run_mtc

KAN = {"arch": "kan", "width": [4, 3], "grid": 5}
SMALL_KAN = [
    "nets.NN.arch=kan", "nets.NN.width=6", "training.precision=float64", "training.log_every=1",
    "scheduler.name=constant", "optimizer.lr=0.01", "constraints.diffusion.batch_size=64", "constraints.ends.batch_size=8",
]  # fmt: skip


def kan(config=KAN, n_inputs=2, dtype=torch.float64, seed=3):
    """A KAN with splines large enough to dominate its edges (fresh ones are near the base function)."""
    net = build_network(config, n_inputs, 1, seed=seed, dtype=dtype)
    with torch.no_grad():
        for layer in net.layers:
            layer.coef.mul_(10)
    return net


@pytest.fixture
def hello(tmp_path):
    return create_project(tmp_path / "hello", example="hello-world")


def configure(folder, *assignments, base=None):
    outline = load_problem(folder).outline()
    return set_values(base or default_config(outline), [*([] if base else SMALL_KAN), *assignments], outline)


def run(folder, stage, config, **plan):
    rows, records = [], {}
    hooks = StageHooks(log=rows.extend, corrected=records.update, stop_requested=plan.pop("stop", lambda: False))
    outcome = train_stage(StagePlan(folder, stage, config, **plan), hooks)
    return outcome, rows, records


def rows_of(rows, key):
    return [value for _, _, k, value in rows if k == key]


def error(folder, stage):
    x = np.linspace(0, 1, 201)
    exact = x * (1 - x) / 2
    return np.linalg.norm(load_stage(folder, stage).predict({"x": x})["u"] - exact) / np.linalg.norm(exact)


def first_batch_loss(folder, parent, config):
    """The loss of ``parent``'s final networks on the first batches a stage with ``config`` draws."""
    problem = load_problem(folder)
    terms = build_terms(problem, compile_problem(problem), config, np.random.default_rng(config["training"]["seed"]))
    bindings = bind(problem, load_stage(folder, parent).networks)
    return sum(float(t.loss(bindings, t.columns(torch.float64, torch.device("cpu"))).detach()) for t in terms)


# -- the layer ------------------------------------------------------------------------------------


def test_bspline_basis_is_a_partition_of_unity_on_the_grid():
    u = torch.linspace(-1, 1, 101, dtype=torch.float64)
    values = basis(u, uniform_knots(7, 3), 3)
    assert values.shape == (101, 10)
    torch.testing.assert_close(values.sum(-1), torch.ones(101, dtype=torch.float64))


def test_first_second_and_mixed_derivatives_match_finite_differences():
    net = kan()
    x = torch.tensor([[0.31, -0.47], [-0.83, 0.12], [0.55, 0.9]], dtype=torch.float64, requires_grad=True)
    grad = torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]
    hessian = torch.stack([torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0] for i in range(2)], dim=1)
    h = 1e-5
    with torch.no_grad():
        for i in range(2):
            step = torch.zeros(2, dtype=torch.float64)
            step[i] = h
            fd = (net(x + step) - net(x - step)).squeeze(-1) / (2 * h)
            torch.testing.assert_close(grad[:, i], fd, rtol=1e-7, atol=1e-8)
    h = 1e-6
    for i in range(2):
        step = torch.zeros(2, dtype=torch.float64)
        step[i] = h
        plus, minus = (x.detach() + step).requires_grad_(), (x.detach() - step).requires_grad_()
        d_plus = torch.autograd.grad(net(plus).sum(), plus)[0]
        d_minus = torch.autograd.grad(net(minus).sum(), minus)[0]
        # row i of the Hessian (d/dx_i of the gradient): u_xx, u_xy (mixed) and u_yy
        torch.testing.assert_close(hessian[:, :, i], (d_plus - d_minus) / (2 * h), rtol=1e-6, atol=1e-6)
    assert hessian.abs().max() > 1e-2  # the second derivatives are not trivially zero
    torch.testing.assert_close(hessian[:, 0, 1], hessian[:, 1, 0])


def test_kan_runs_in_float32_and_float64():
    for dtype in (torch.float32, torch.float64):
        net = build_network(KAN, 2, 3, seed=0, dtype=dtype)
        assert net(torch.zeros(5, 2, dtype=dtype)).dtype == dtype
        assert all(p.dtype == dtype for p in net.parameters())


@torch.no_grad()
def test_grid_extension_preserves_the_function_exactly_on_a_multiple_grid():
    coarse = kan()
    x = torch.rand(500, 2, dtype=torch.float64) * 4 - 2  # inside and outside the input range
    for grid in (10, 15):
        fine = build_network({**KAN, "grid": grid}, 2, 1, dtype=torch.float64)
        fine.load_state_dict(refine_state(coarse.state_dict(), 5, grid, 3))
        inside = x[(x.abs() <= 1).all(dim=1)]  # the first layer's grid covers [-1, 1]; hidden layers see tanh
        scale = coarse(inside).abs().max()
        assert float((fine(inside) - coarse(inside)).abs().max() / scale) < 1e-12


# -- training -------------------------------------------------------------------------------------


def test_kan_stage_trains_on_1d_poisson_and_logs_sparsity_apart_from_total(hello):
    config = configure(hello, "training.max_steps=300", "nets.NN.l1=1e-3", "nets.NN.entropy=1e-3")
    outcome, rows, _ = run(hello, "s1", config)
    assert outcome == "done"
    total, sparsity = rows_of(rows, "total"), rows_of(rows, "sparsity/NN")
    assert total[-1] < total[0] / 10 and len(sparsity) == len(total) and min(sparsity) > 0
    constraints = np.array(rows_of(rows, "diffusion")) + np.array(rows_of(rows, "ends"))
    np.testing.assert_allclose(total, constraints, rtol=1e-12)  # total: the constraints only
    assert error(hello, "s1") < 0.03
    plain = configure(hello, "training.max_steps=2")
    assert "sparsity/NN" not in {key for _, _, key, _ in run(hello, "s0", plain)[1]}


def test_kan_inputs_are_mapped_from_the_problem_range(hello):
    config = configure(hello, "training.max_steps=1")
    run(hello, "s1", config)
    saved = load_checkpoint(stage_folder(hello, "s1"), "s1")["networks"]["NN"]
    assert saved["input_low"].tolist() == [0.0] and saved["input_high"].tolist() == [1.0]
    fixed = configure(hello, "nets.NN.grid_range=-2,2", base=config)
    run(hello, "s2", fixed)
    assert load_checkpoint(stage_folder(hello, "s2"), "s2")["networks"]["NN"]["input_high"].tolist() == [2.0]


def test_grid_extension_child_first_loss_equals_parent_last(hello):
    parent = configure(hello, "training.max_steps=40", "training.resample_every=1000")
    run(hello, "s1", parent)
    finer = configure(hello, "nets.NN.grid=10", "training.max_steps=30", base=parent)
    _, rows, _ = run(hello, "s2", finer, parent="s1")
    assert rows_of(rows, "total")[0] == pytest.approx(first_batch_loss(hello, "s1", finer), rel=1e-6)
    saved = load_checkpoint(stage_folder(hello, "s2"), "s2")
    assert saved["networks"]["NN"]["layers.0.coef"].shape == (1, 6, 13)
    assert error(hello, "s2") < 1  # it rebuilds with the finer grid for inference


def test_prune_child_removes_nodes_and_edges_trains_and_resumes(hello):
    parent = configure(hello, "training.max_steps=100", "nets.NN.width=8,4", "nets.NN.l1=1e-2", "nets.NN.entropy=1e-2")
    run(hello, "s1", parent)
    before = active_parameters(load_stage(hello, "s1").networks["NN"])
    prune = configure(hello, "nets.NN.l1=0", "nets.NN.entropy=0", "training.max_steps=40", "nets.NN.node_th=0.02", base=parent)
    calls = iter(range(1000))
    outcome, rows, record = run(hello, "s2", prune, parent="s1", kind="prune", stop=lambda: next(calls) >= 19)
    assert outcome == "cancelled"
    shape = record["pruned"]["NN"]
    assert shape["before"]["parameters"] == before
    assert shape["after"]["parameters"] < before and shape["after"]["edges"] < shape["before"]["edges"]
    outcome, resumed, _ = run(hello, "s2", prune, parent="s1", kind="prune", resume=True)
    assert outcome == "done" and rows_of(resumed, "total")[0] > 0
    losses = rows_of(rows, "total") + rows_of(resumed, "total")
    assert len(losses) == 40 and np.mean(losses[-5:]) < np.mean(losses[:5])
    pruned = load_stage(hello, "s2").networks["NN"]
    assert active_parameters(pruned) == shape["after"]["parameters"]
    assert [layer.coef.shape[1] for layer in pruned.layers[:-1]] == shape["after"]["width"]
    assert error(hello, "s2") < 0.2
    # a child of the pruned stage keeps its shape
    run(hello, "s3", configure(hello, "training.max_steps=2", "nets.NN.grid=10", base=prune), parent="s2")
    assert active_parameters(load_stage(hello, "s3").networks["NN"]) > shape["after"]["parameters"]


# -- through the CLI and the worker ---------------------------------------------------------------


@pytest.mark.slow
def test_prune_workflow_from_the_cli_with_summary_and_inference(tmp_path):
    def ok(*args):
        result = run_mtc(*args, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    create_project(tmp_path / "hello", example="hello-world")
    folder = tmp_path / "hello"
    ok("init-conf")
    settings = [*SMALL_KAN, "training.log_every=10", "training.max_steps=60", "nets.NN.l1=1e-2"]
    ok("stage", "set", "stage1", *settings)
    ok("stage", "child", "stage1", "pruned", "--kind", "prune", "--set", "nets.NN.l1=0", "--set", "training.max_steps=20")
    ok("stage", "child", "pruned", "finer", "--set", "nets.NN.grid=10", "--set", "training.max_steps=20")
    ok("train", "--stage", "finer")
    summary = ok("show", "training")
    assert "pruned (prune of stage1, done)" in summary and "parameters, hidden widths [6] ->" in summary
    pd.DataFrame({"x": np.linspace(0, 1, 11)}).to_csv(tmp_path / "points.csv", index=False)
    for stage in ("pruned", "finer"):
        ok("infer", "--stage", stage, "--input", str(tmp_path / "points.csv"), "--output", str(tmp_path / "out.csv"))
        assert np.isfinite(pd.read_csv(tmp_path / "out.csv")["u"]).all()


# -- bad input ------------------------------------------------------------------------------------


def test_prune_of_a_non_kan_stage_and_a_shrinking_grid_are_refused_before_anything_is_written(hello):
    with StageBook(hello) as book:
        book.init_conf()
        with pytest.raises(StageError, match="cannot prune .stage1.*trains no KAN"):
            book.new_child("stage1", "p", kind="prune")
        book.edit("stage1", ["nets.NN.arch=kan", "nets.NN.grid=8"])
        with pytest.raises(StageError, match="grid 8 -> 4 shrinks the KAN grid"):
            book.new_child("stage1", "c", ["nets.NN.grid=4"])
        book.new_child("stage1", "c")
        with pytest.raises(StageError, match="grid 8 -> 4 shrinks"):
            book.edit("c", ["nets.NN.grid=4"])
        with pytest.raises(StageError, match="grid 8 -> 12 is no multiple of 8"):
            book.edit("c", ["nets.NN.grid=12"])
        with pytest.raises(StageError, match="layer widths"):
            book.edit("c", ["nets.NN.width=4,4"])
        book.new_child("stage1", "p", kind="prune")
        book.edit("stage1", ["nets.NN.arch=fully_connected"])  # the parent is no KAN any more: refused when queued
        with pytest.raises(StageError, match="cannot prune 'stage1'"):
            submit(book, ["p"])
        assert {r.name: r.status for r in book.stages()} == {"stage1": "draft", "c": "draft", "p": "draft"}
        assert "(prune)" in format_training(book.summary())


def test_bad_kan_settings_name_the_key(hello):
    with StageBook(hello) as book:
        book.init_conf()
        for assignment, message in (
            ("nets.NN.grid_range=1,0", "grid_range.*lower end must be below"),
            ("nets.NN.width=4,0", "width"),
            ("nets.NN.spline_order=0", "spline_order"),
            ("nets.NN.grid=0", "grid"),
        ):
            with pytest.raises(Exception, match=message):
                book.edit("stage1", ["nets.NN.arch=kan", assignment])
        with pytest.raises(Exception, match="l1.*arch is kan"):
            book.edit("stage1", ["nets.NN.l1=0.1"])
        assert book.stage("stage1").config["nets"]["NN"]["arch"] == "fully_connected"


def test_pruning_every_node_away_fails_with_the_fix(hello):
    parent = configure(hello, "training.max_steps=2")
    run(hello, "s1", parent)
    with pytest.raises(Exception, match="removes every node of hidden layer 1: lower nets.NN.node_th"):
        run(hello, "s2", configure(hello, "nets.NN.node_th=100", base=parent), parent="s1", kind="prune")


@pytest.mark.slow
def test_a_kan_finishes_with_levenberg_marquardt_steps(hello):
    config = configure(hello, "training.max_steps=100", "nets.NN.width=4", "training.then_lm_steps=20", "nets.NN.l1=1e-4")
    _, rows, _ = run(hello, "s1", config)
    assert len(rows_of(rows, "sparsity/NN")) == 100  # the penalty is an Adam-phase term: lm trains the physics only
    assert error(hello, "s1") < 1e-3
