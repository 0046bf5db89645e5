"""The stage time budget (training.max_time): a stage ends as done when its time is used up, says so,
and its children (standard or correction) start from it; a resumed stage counts its earlier runs."""

from __future__ import annotations

import json
import time

import pytest

from conftest import example_project, run_mtc
from engine.config import ConfigError, default_config, set_values
from engine.layout import stage_folder
from engine.problem import load_problem
from engine.project import create_project
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.checkpoint import load_checkpoint
from engine.train.loss_step import _compile_choice, compiler_missing

TINY = {"nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "nets.NN.activation": "tanh", "training.precision": "float64",
        "constraints.poisson.batch_size": 64, "training.log_every": 5}  # fmt: skip
HUGE = 10**7


def status_of(project):
    result = run_mtc("status", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_a_stage_out_of_time_ends_done_says_why_and_its_correction_child_finishes_in_time(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    project = example_project(tmp_path / "prec", "precision-1d", {**TINY, "training.max_steps": HUGE, "training.max_time": 1})
    trained = run_mtc("train", "--stage", "stage1", cwd=project)
    assert trained.returncode == 0, trained.stderr
    row = status_of(project)["stage1"]
    assert row["status"] == "done" and row["error"].startswith("stopped: time budget at step "), row
    saved = load_checkpoint(stage_folder(project, "stage1"), "stage1")
    reached = int(row["error"].split("at step ")[1].split()[0])
    assert saved["finished"] and saved["step"] == reached + 1 < HUGE
    assert saved["time_budget"]["used"] >= 1.0
    # a correction child starts from it: its start and its guard count in its own 3 s
    child = run_mtc("stage", "child", "stage1", "fix", "--kind", "correction", "--set", "training.max_steps=3",
                    "--set", f"training.then_lm_steps={HUGE}", "--set", "training.max_time=3", cwd=project)  # fmt: skip
    assert child.returncode == 0, child.stderr
    trained = run_mtc("train", "--stage", "fix", cwd=project)
    assert trained.returncode == 0, trained.stderr
    row = status_of(project)["fix"]
    assert row["status"] == "done" and row["error"].startswith("stopped: time budget at step "), row
    saved = load_checkpoint(stage_folder(project, "fix"), "fix")
    assert saved["finished"] and saved["correction"]["guard"]["by_scale"]  # the guard judged the stage
    assert saved["time_budget"]["reserve"] > 0  # time kept for the guard, estimated from the start


def test_a_time_budget_that_is_not_positive_is_refused_when_set(tmp_path):
    project = example_project(tmp_path / "p", "precision-1d")
    outline = load_problem(project).outline()
    for value in ("0", "-1"):
        with pytest.raises(ConfigError, match="max_time"):
            set_values(default_config(outline), [f"training.max_time={value}"], outline)
    assert set_values(default_config(outline), ["training.max_time=off"], outline)["training"]["max_time"] is None
    refused = run_mtc("stage", "child", "stage1", "next", "--set", "training.max_time=0", cwd=project)
    assert refused.returncode != 0 and "training.max_time" in refused.stderr and "> 0" in refused.stderr
    assert "next" not in run_mtc("stage", "list", cwd=project).stdout  # nothing half-written


def test_a_resumed_stage_counts_the_time_of_its_earlier_run(tmp_path):
    project = create_project(tmp_path / "p", example="precision-1d")
    outline = load_problem(project).outline()
    settings = [f"{key}={value}" for key, value in TINY.items()]
    config = set_values(default_config(outline), [*settings, "training.max_steps=200", "training.max_time=1000"], outline)
    jump = [0.0]  # the first run "takes" 2000 s: its clock jumps when it is asked to stop

    def stop_after_five(calls=[]):  # noqa: B006 (the call count)
        calls.append(1)
        if len(calls) == 5:
            jump[0] = 2000.0
        return len(calls) == 5

    clock = lambda: time.monotonic() + jump[0]  # noqa: E731
    first = StageHooks(stop_requested=stop_after_five, clock=clock)
    assert train_stage(StagePlan(project, "s", config), first) == "cancelled"
    assert load_checkpoint(stage_folder(project, "s"), "s")["time_budget"]["used"] >= 2000
    notes: list[str] = []
    assert train_stage(StagePlan(project, "s", config, resume=True), StageHooks(stopped=notes.append)) == "done"
    assert notes == ["stopped: time budget at step 5 (training.max_time=1000 s)"]  # its first step after the resume
    fresh: list[str] = []  # the same stage from scratch has the time for all its steps
    assert train_stage(StagePlan(project, "t", config), StageHooks(stopped=fresh.append)) == "done"
    assert fresh == [] and load_checkpoint(stage_folder(project, "t"), "t")["step"] == 200


def test_the_finishing_phases_stop_on_the_budget_too(tmp_path):
    project = create_project(tmp_path / "p", example="precision-1d")
    outline = load_problem(project).outline()
    settings = [f"{key}={value}" for key, value in TINY.items()]
    config = set_values(default_config(outline), [*settings, "training.max_steps=2", "training.then_lbfgs_steps=3",
                                                  f"training.then_lm_steps={HUGE}", "training.max_time=30"], outline)  # fmt: skip
    ticks = iter(range(HUGE))  # a clock one second further at each reading: the budget ends after some 30 steps
    notes: list[str] = []
    assert train_stage(StagePlan(project, "s", config), StageHooks(stopped=notes.append, clock=lambda: float(next(ticks)))) == "done"
    saved = load_checkpoint(stage_folder(project, "s"), "s")
    assert saved["finished"] and 5 < saved["step"] < HUGE  # it ended in the LM phase (steps 5 on)
    assert notes == [f"stopped: time budget at step {saved['step'] - 1} (training.max_time=30 s)"]


@pytest.mark.skipif(compiler_missing() is not None, reason="no C++ compiler: compile=auto never compiles")
def test_compile_auto_leaves_a_short_budget_uncompiled():
    big = 1e12  # steps x points x parameters far above the auto threshold
    short = _compile_choice({"compile": "auto", "max_time": 60.0}, "adam", big, ())
    assert not short.compiled and "training.max_time=60 s" in short.reason
    assert _compile_choice({"compile": "auto", "max_time": 3600.0}, "adam", big, ()).compiled
    assert _compile_choice({"compile": "on", "max_time": 60.0}, "adam", big, ()).compiled  # as set
