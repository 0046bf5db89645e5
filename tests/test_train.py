"""Training one stage on CPU: loss goes down, checkpoints, frozen networks, exclusions, guards, children."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import default_config, set_values
from engine.errors import MtcError
from engine.inference import load_stage
from engine.problem import load_problem
from engine.project import create_project
from engine.layout import stage_folder
from engine.train import NonFiniteLoss, StageHooks, StagePlan, train_stage
from engine.train.checkpoint import load_checkpoint

SMALL = ["nets.{net}.layer_size=16", "nets.{net}.nr_layers=2", "nets.{net}.activation=tanh"]


def small_config(folder, *assignments, nets=("NN",)):
    outline = load_problem(folder).outline()
    settings = [s.format(net=n) for n in nets for s in SMALL]
    base = ["training.precision=float64", "training.log_every=1", "scheduler.name=constant"]
    return set_values(default_config(outline), [*base, *settings, *assignments], outline)


@pytest.fixture
def hello(tmp_path):
    return create_project(tmp_path / "hello", example="hello-world")


@pytest.fixture
def heat(tmp_path):
    return create_project(tmp_path / "heat", example="heat-interface")


def run(folder, stage, config, **plan):
    rows = []
    outcome = train_stage(StagePlan(folder, stage, config, **plan), StageHooks(log=rows.extend))
    return outcome, rows


def totals(rows):
    return [value for _, _, key, value in rows if key == "total"]


def test_adam_lowers_the_loss_and_writes_a_checkpoint(hello):
    config = small_config(hello, "training.max_steps=150", "optimizer.lr=0.01", "training.checkpoint_every=50")
    outcome, rows = run(hello, "s1", config)
    assert outcome == "done"
    losses = totals(rows)
    assert len(losses) == 150 and losses[-1] < losses[0] / 10
    assert {key for _, _, key, _ in rows} == {"total", "diffusion", "ends", "lr", "grad_norm"}
    saved = load_checkpoint(stage_folder(hello, "s1"), "s1")
    assert saved["step"] == 150


def test_child_starts_from_parent_and_lbfgs_improves(hello):
    parent = small_config(hello, "training.max_steps=200", "optimizer.lr=0.01")
    run(hello, "s1", parent)
    x = np.linspace(0, 1, 201)
    exact = x * (1 - x) / 2
    before = load_stage(hello, "s1").predict({"x": x})["u"]
    child = set_values(parent, ["optimizer.name=lbfgs", "training.max_steps=20", "training.resample_every=1000"], load_problem(hello).outline())
    _, rows = run(hello, "s2", child, parent="s1")
    after = load_stage(hello, "s2").predict({"x": x})["u"]
    assert np.linalg.norm(after - exact) < np.linalg.norm(before - exact) / 3


def test_wider_child_reproduces_its_parent_exactly(hello):
    parent = small_config(hello, "training.max_steps=30", "optimizer.lr=0.01")
    run(hello, "s1", parent)
    wider = set_values(parent, ["nets.NN.layer_size=40", "training.max_steps=31"], load_problem(hello).outline())
    # resume a 31-step child whose single step has lr ~ 0: its weights before the step are the parent's
    zero_lr = set_values(wider, ["optimizer.lr=1e-300"], load_problem(hello).outline())
    run(hello, "s2", zero_lr, parent="s1")
    x = np.random.default_rng(0).uniform(0, 1, 100)
    np.testing.assert_allclose(load_stage(hello, "s2").predict({"x": x})["u"], load_stage(hello, "s1").predict({"x": x})["u"], atol=1e-12)


def test_deeper_child_is_refused(hello):
    parent = small_config(hello, "training.max_steps=5")
    run(hello, "s1", parent)
    deeper = set_values(parent, ["nets.NN.nr_layers=3"], load_problem(hello).outline())
    with pytest.raises(MtcError, match="nr_layers 2 -> 3 changes the depth"):
        run(hello, "s2", deeper, parent="s1")


def test_frozen_network_is_unchanged_and_excluded_constraint_has_no_rows(heat):
    nets = ("metalNN", "paperNN")
    parent = small_config(heat, "training.max_steps=20", "optimizer.lr=0.01", nets=nets)
    run(heat, "s1", parent)
    child = set_values(
        parent,
        ["nets.metalNN.trainable=false", "constraints.interface_eq.include=false"],
        load_problem(heat).outline(),
    )
    _, rows = run(heat, "s2", child, parent="s1")
    first = load_checkpoint(stage_folder(heat, "s1"), "s1")["networks"]
    second = load_checkpoint(stage_folder(heat, "s2"), "s2")["networks"]
    for key, value in first["metalNN"].items():
        assert torch.equal(value, second["metalNN"][key])
    assert any(not torch.equal(v, second["paperNN"][k]) for k, v in first["paperNN"].items())
    assert "interface_eq" not in {key for _, _, key, _ in rows}


def test_target_loss_stops_early(hello):
    config = small_config(hello, "training.max_steps=500", "optimizer.lr=0.01", "training.target_loss=0.05")
    outcome, rows = run(hello, "s1", config)
    assert outcome == "done" and totals(rows)[-1] <= 0.05 and len(totals(rows)) < 500
    assert load_checkpoint(stage_folder(hello, "s1"), "s1")["step"] == len(totals(rows))


def test_cancel_request_checkpoints_and_stops(hello):
    config = small_config(hello, "training.max_steps=1000")
    calls = []
    outcome = train_stage(StagePlan(hello, "s1", config), StageHooks(stop_requested=lambda: calls.append(1) or len(calls) >= 5))
    assert outcome == "cancelled" and load_checkpoint(stage_folder(hello, "s1"), "s1")["step"] == 5


def test_resume_continues_from_the_checkpoint(hello):
    config = small_config(hello, "training.max_steps=40", "training.checkpoint_every=20", "optimizer.lr=0.01")
    calls = []
    train_stage(StagePlan(hello, "s1", config), StageHooks(stop_requested=lambda: calls.append(1) or len(calls) >= 20))
    _, rows = run(hello, "s1", config, resume=True)
    assert sorted({step for step, *_ in rows}) == list(range(20, 40))


@pytest.mark.parametrize("schedule", [["scheduler.name=cosine"], ["scheduler.name=step", "scheduler.step_size=15"], []])
def test_resumed_stage_keeps_its_learning_rate_schedule(hello, schedule):
    """torch computes cosine and step schedules from the optimizer's current lr: a resumed stage must not restart at
    the initial lr (the last case is the default schedule)."""
    config = small_config(hello, "training.max_steps=40", "training.checkpoint_every=20", "optimizer.lr=0.01")
    config = set_values(config, ["scheduler.name=exponential", *schedule], load_problem(hello).outline())
    _, whole = run(hello, "whole", config)
    calls = []
    train_stage(StagePlan(hello, "cut", config), StageHooks(stop_requested=lambda: calls.append(1) or len(calls) >= 20))
    _, resumed = run(hello, "cut", config, resume=True)
    rates = lambda rows: {step: value for step, _, key, value in rows if key == "lr" and step >= 20}  # noqa: E731
    assert rates(whole)[39] < rates(whole)[20] < 0.01  # the schedule moves after the resumption point
    np.testing.assert_allclose(list(rates(resumed).values()), list(rates(whole).values()), rtol=1e-12)


def test_non_finite_loss_names_step_and_constraint(tmp_path):
    folder = create_project(tmp_path / "nan", example="hello-world")
    text = (folder / "problem.py").read_text().replace("Eq(u, 0)", "Eq(log(u - 10), 0)")
    (folder / "problem.py").write_text(text)
    with pytest.raises(NonFiniteLoss, match="non-finite loss at step 0 in constraint 'ends'"):
        run(folder, "s1", small_config(folder, "training.max_steps=5"))


def test_all_networks_frozen_is_refused(hello):
    with pytest.raises(MtcError, match="every network of stage 's1' is frozen"):
        run(hello, "s1", small_config(hello, "nets.NN.trainable=false"))


def test_missing_parent_checkpoint_is_a_clear_error(hello):
    with pytest.raises(MtcError, match="stage 'ghost' has no checkpoint"):
        run(hello, "s2", small_config(hello), parent="ghost")


def test_cuda_device_without_cuda_is_a_clear_error(hello):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(MtcError, match="no CUDA device"):
        run(hello, "s1", small_config(hello, "training.device=cuda"))
