"""Loss balancing (training.loss_balancing) and stop on plateau (training.stop_on_plateau), trained on CPU."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import example_project, run_mtc
from engine.config import ConfigError, default_config, set_values
from engine.config.balancing import balancing_warning
from engine.layout import stage_folder
from engine.problem import load_problem
from engine.store import open_storage
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.balancing import BALANCERS
from engine.train.checkpoint import load_checkpoint
from engine.train.loop import draw_batches
from engine.train.loss_step import _compile_choice
from engine.train.stage import prepare

# Two constraints pulling u to different values; "big"'s residual is 10x "small"'s, so its
# gradient is ~100x larger and plain training fits "big" and leaves "small" poorly fitted.
TUG = """\
from cfg import *
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
p.add_constraint("big", enforce(equation=Eq(10 * u, 10), on_domain=interior))
p.add_constraint("small", enforce(equation=Eq(u, -1), on_domain=interior))
"""
TINY = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "nets.NN.activation=tanh", "training.precision=float64",
        "scheduler.name=constant", "optimizer.lr=0.01", "constraints.big.batch_size=32", "constraints.small.batch_size=32"]  # fmt: skip


def configure(folder, *assignments):
    outline = load_problem(folder).outline()
    return set_values(default_config(outline), [*TINY, *assignments], outline)


def train(folder, stage, config, **plan):
    rows, notes = [], []
    outcome = train_stage(StagePlan(folder, stage, config, **plan), StageHooks(log=rows.extend, stopped=notes.append))
    return outcome, rows, notes


def weights(rows, step=None):
    """``{constraint: effective weight}`` at ``step`` (default: the last logged step)."""
    logged = [(s, k.removeprefix("weight/"), v) for s, _, k, v in rows if k.startswith("weight/")]
    last = max(s for s, _, _ in logged) if step is None else step
    return {name: value for s, name, value in logged if s == last}


@pytest.fixture
def tug(project_with):
    return project_with(TUG)


METHODS = {
    "lr_annealing": [],
    "gradnorm": ["training.balance_lr=0.05"],
    "relobralo": ["training.balance_alpha=0.01", "training.relobralo_rho=0.9"],  # a longer memory than the defaults
    "self_adaptive": ["training.resample_every=100", "training.balance_lr=0.2"],
}


@pytest.mark.parametrize("method", METHODS)
def test_the_small_gradient_constraint_gains_weight(tug, method):
    config = configure(tug, "training.max_steps=100", "training.log_every=10", "training.balance_every=5",
                       f"training.loss_balancing={method}", *METHODS[method])  # fmt: skip
    outcome, rows, _ = train(tug, "s1", config)
    assert outcome == "done"
    last = weights(rows)  # every method starts from 1 and 1
    assert last["small"] / last["big"] > 1.5, last
    assert all(weights(rows, step)["small"] > weights(rows, step)["big"] for step in range(50, 100, 10))
    # the loss rows stay the constraints' own losses; the weights are extra rows
    assert {k for _, _, k, _ in rows} == {"total", "big", "small", "lr", "grad_norm", "weight/big", "weight/small"}


def test_the_user_weight_multiplies_the_balanced_weight(tug):
    config = configure(tug, "training.max_steps=30", "training.log_every=10", "training.balance_every=5",
                       "training.loss_balancing=lr_annealing", "constraints.small.weight=3")  # fmt: skip
    _, rows, _ = train(tug, "s1", config)
    balanced = load_checkpoint(stage_folder(tug, "s1"), "s1")["balancing"]["weights"].tolist()
    assert weights(rows) == pytest.approx({"big": balanced[0], "small": 3 * balanced[1]})


def test_no_balancing_logs_no_weight_rows(tug):
    _, rows, _ = train(tug, "s1", configure(tug, "training.max_steps=3"))
    assert not [k for _, _, k, _ in rows if k.startswith("weight/")]


@pytest.mark.parametrize("method", ["lr_annealing", "self_adaptive"])
def test_a_resumed_stage_continues_the_weights(tug, method):
    extra = METHODS[method]
    full = configure(tug, "training.max_steps=40", "training.log_every=1", "training.balance_every=5",
                     f"training.loss_balancing={method}", *extra)  # fmt: skip
    _, straight, _ = train(tug, "whole", full)
    calls = []
    stop = StageHooks(stopped=lambda note: None, stop_requested=lambda: calls.append(1) or len(calls) >= 20)
    assert train_stage(StagePlan(tug, "split", full), stop) == "cancelled"
    outcome, resumed, _ = train(tug, "split", full, resume=True)
    assert outcome == "done" and min(s for s, *_ in resumed) == 20
    for step in (20, 39):
        assert weights(resumed, step) == pytest.approx(weights(straight, step), rel=1e-9)


def test_plateau_stops_a_flat_stage_before_max_steps(tug):
    # lr ~ 0 on fixed points: the loss is flat from the start
    config = configure(tug, "training.max_steps=1000", "training.log_every=5", "optimizer.lr=1e-12",
                       "training.resample_every=1000", "training.stop_on_plateau=true",
                       "training.plateau_patience=4", "training.plateau_min_delta=0.001")  # fmt: skip
    outcome, rows, notes = train(tug, "s1", config)
    assert outcome == "done" and notes == ["stopped: plateau at step 20"]
    assert max(s for s, *_ in rows) == 20
    saved = load_checkpoint(stage_folder(tug, "s1"), "s1")
    assert saved["step"] == 21 and saved["finished"]


def test_plateau_waits_while_the_loss_improves(tug):
    config = configure(tug, "training.max_steps=60", "training.log_every=5", "training.resample_every=1000",
                       "training.stop_on_plateau=true", "training.plateau_patience=3")  # fmt: skip
    outcome, rows, notes = train(tug, "s1", config)
    assert outcome == "done" and notes == [] and max(s for s, *_ in rows) == 59


def test_a_plateau_stopped_stage_says_why_stores_its_weights_and_its_child_starts_from_it(tmp_path):
    project = example_project(tmp_path / "hello", "hello-world", {
        "nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "constraints.diffusion.batch_size": 32,
        "constraints.ends.batch_size": 8, "training.max_steps": 5000, "training.log_every": 5,
        "optimizer.lr": 1e-12, "training.resample_every": 5000, "training.stop_on_plateau": True,
        "training.plateau_patience": 3, "training.loss_balancing": "lr_annealing",
    })  # fmt: skip
    assert run_mtc("train", "--stage", "stage1", cwd=project).returncode == 0
    status = json.loads(run_mtc("status", "--json", cwd=project).stdout)
    row = next(r for r in status if r["name"] == "stage1")
    assert row["status"] == "done" and row["error"] == "stopped: plateau at step 15"
    assert "stopped: plateau at step 15" in run_mtc("status", cwd=project).stdout
    storage = open_storage(project)
    stored = {key: storage.latest_losses(key)["stage1"] for key in ("weight/diffusion", "weight/ends")}
    storage.dispose()
    assert stored["weight/diffusion"] == (15, 1.0) and stored["weight/ends"][1] > 1  # the boundary term gains weight
    compared = json.loads(run_mtc("compare", "stage1", "--json", cwd=project).stdout)[0]
    assert compared["final.total"] > 0 and compared["final.weight/ends"] == stored["weight/ends"][1]
    plotted = run_mtc("plot", "losses", "--keys", "total,weight/ends", "--output", str(tmp_path / "w.html"), cwd=project)
    assert plotted.returncode == 0 and (tmp_path / "w.html").stat().st_size > 0
    child = run_mtc("stage", "child", "stage1", "next", "--set", "training.stop_on_plateau=false", "--set", "training.max_steps=1",
                    cwd=project)  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert run_mtc("train", "--stage", "next", cwd=project).returncode == 0
    parent = load_checkpoint(stage_folder(project, "stage1"), "stage1")["networks"]["NN"]
    first = load_checkpoint(stage_folder(project, "next"), "next")["networks"]["NN"]
    assert all((parent[k] - first[k]).abs().max() < 1e-9 for k in parent)  # one step at lr 1e-12


def test_self_adaptive_finishing_steps_train_on_their_own_batch_with_the_last_weights(tug):
    config = configure(tug, "training.max_steps=10", "training.resample_every=10", "training.balance_every=1",
                       "training.loss_balancing=self_adaptive", "training.then_lbfgs_steps=5")  # fmt: skip
    state, _, _ = prepare(StagePlan(tug, "s", config), StageHooks())
    balancer, fixed, later = state.balancer, draw_batches(state), draw_batches(state)
    args = (state.terms, state.bindings)
    for step in range(3):  # the stage's own optimizer: per-point weights on the fixed points rise
        balancer.losses(*args, fixed, state.parameters, step, True, state.loss_step)
    weights = balancer.weights.clone()
    assert (weights > 1).all()
    losses, total = balancer.losses(*args, later, state.parameters, 10, False, state.loss_step)  # L-BFGS
    expected = state.loss_step(*args, later)
    assert torch.equal(losses.detach(), expected.detach())  # its own batch, not the fixed points
    assert float(total.detach()) == pytest.approx(float((weights * expected.detach().double()).sum()), rel=1e-12)
    assert torch.equal(balancer.weights, weights)  # kept, not updated


def test_self_adaptive_on_redrawn_points_is_refused(tug):
    with pytest.raises(ConfigError, match="training.resample_every=1000") as info:
        configure(tug, "training.loss_balancing=self_adaptive", "training.max_steps=1000")
    assert "self_adaptive" in str(info.value) and "fixed" in str(info.value)


def test_balancing_with_a_second_order_optimizer_is_refused(tug):
    with pytest.raises(ConfigError, match="training.loss_balancing: gradnorm .* optimizer.name is lbfgs"):
        configure(tug, "training.loss_balancing=gradnorm", "optimizer.name=lbfgs")


def test_an_unknown_method_is_refused_naming_the_choices(tug):
    with pytest.raises(ConfigError, match="training.loss_balancing") as info:
        configure(tug, "training.loss_balancing=softadapt")
    assert "lr_annealing" in str(info.value)


def test_one_trained_constraint_warns_nothing_to_balance(tug):
    one = configure(tug, "training.loss_balancing=relobralo", "constraints.small.include=false")
    assert "nothing to balance" in balancing_warning("s1", one) and "'big'" in balancing_warning("s1", one)
    assert balancing_warning("s1", configure(tug, "training.loss_balancing=relobralo")) is None
    refused = run_mtc("stage", "set", "stage1", "training.loss_balancing=relobralo", cwd=example_project(
        tug.parent / "heat", "hello-world", {"constraints.ends.include": False}))  # fmt: skip
    assert refused.returncode == 0 and "warning: stage 'stage1' sets training.loss_balancing=relobralo but only 'diffusion'" in refused.stderr


@pytest.mark.parametrize("method", ["lr_annealing", "gradnorm"])
def test_gradient_balancers_keep_the_loss_step_uncompiled(method):
    # a compiled backward refuses the per-term gradients of one graph these methods take
    needs = BALANCERS[method].term_gradients
    choice = _compile_choice({"compile": "on", "loss_balancing": method}, "adam", 1e12, (), needs)
    assert not choice.compiled and f"training.loss_balancing={method}" in choice.reason
    relobralo = BALANCERS["relobralo"].term_gradients
    assert _compile_choice({"compile": "on", "loss_balancing": "relobralo"}, "adam", 1e12, (), relobralo).compiled


def test_a_gradient_balanced_stage_says_its_step_stays_uncompiled(tug):
    said = []
    config = configure(tug, "training.loss_balancing=lr_annealing", "training.compile=on")
    state, _, _ = prepare(StagePlan(tug, "s", config), StageHooks(info=said.append))
    assert not state.loss_step.compiled
    assert any("training.loss_balancing=lr_annealing differentiates each term's loss apart" in line for line in said)
