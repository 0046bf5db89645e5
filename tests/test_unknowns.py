"""Unknown constants (p.add_unknown): learned with the networks, bounded, logged, carried, shown."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import example_project, run_mtc
from engine.config import ConfigError, default_config, set_values
from engine.errors import ProblemError
from engine.inference import load_stage
from engine.problem import load_problem
from engine.problem.unknowns import make_unknown
from engine.stages import StageBook
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.unknowns import bounded, raw_value

FAST = ["training.precision=float64", "optimizer.lr=0.01", "scheduler.name=constant", "nets.NN.layer_size=16",
        "nets.NN.nr_layers=2", "nets.NN.activation=tanh", "constraints.equation.batch_size=64",
        "constraints.ends.batch_size=2", "data.sensors.batch_size=50"]  # fmt: skip


def config_for(folder, *assignments):
    outline = load_problem(folder).outline()
    return set_values(default_config(outline), [*FAST, *assignments], outline)


def run(folder, stage, config, **plan):
    rows = []
    assert train_stage(StagePlan(folder, stage, config, **plan), StageHooks(log=rows.extend)) == "done"
    return [(step, value) for step, _, key, value in rows if key == "unknown/k"]


@pytest.fixture
def inverse(tmp_path):
    return example_project(tmp_path / "inverse", "inverse-1d")


@pytest.mark.slow
def test_inverse_1d_recovers_k_from_noisy_sensors(inverse):
    config = config_for(inverse, "training.max_steps=200", "training.then_lbfgs_steps=60", "training.log_every=20")
    k = run(inverse, "s1", config)
    assert k[0][0] == 0 and len(k) == 200 // 20 + 1 + 60 // 20  # a value at every logged step
    learned = load_stage(inverse, "s1")
    assert abs(learned.unknowns["k"] - 0.7) < 1e-3, learned.unknowns
    assert learned.unknowns["k"] == k[-1][1]
    x = np.linspace(0, 1, 101)
    assert np.abs(learned.predict({"x": x})["u"] - 0.7 * np.sin(np.pi * x)).max() < 2e-3


def test_a_frozen_unknown_keeps_its_value_and_a_child_starts_from_its_parents(inverse):
    frozen = config_for(inverse, "training.max_steps=5", "unknowns.k.trainable=false", "training.log_every=1")
    values = [value for _, value in run(inverse, "s1", frozen)]
    assert len(values) == 5 and all(value == pytest.approx(1.0, abs=1e-12) for value in values)
    parent = config_for(inverse, "training.max_steps=30", "unknowns.k.lr_scale=20")
    learned = run(inverse, "s2", parent)[-1][1]
    assert abs(learned - 1.0) > 1e-2
    child = config_for(inverse, "training.max_steps=1", "unknowns.k.trainable=false")
    assert run(inverse, "s3", child, parent="s2")[0][1] == pytest.approx(learned, rel=1e-12)


def test_lr_scale_speeds_up_the_unknown_only(inverse):
    moved = {}
    for scale in (1, 50):
        config = config_for(inverse, "training.max_steps=3", "training.log_every=1", f"unknowns.k.lr_scale={scale}")
        k = run(inverse, f"s{scale}", config)
        moved[scale] = abs(k[-1][1] - 1.0)
    assert moved[50] > 10 * moved[1]


@pytest.mark.parametrize("bounds", [(0.01, 100), (-2.0, 3.0), (0.5, None), (None, 4.0), None])
def test_bounds_are_kept_by_a_smooth_map(bounds):
    unknown = make_unknown("k", 1.0, bounds)
    for value in (1.0, 0.75, 2.5):
        if bounds is None or ((bounds[0] is None or value > bounds[0]) and (bounds[1] is None or value < bounds[1])):
            assert float(bounded(unknown, torch.tensor(raw_value(unknown, value), dtype=torch.float64))) == pytest.approx(value, rel=1e-12)
    for raw in (-1e3, -30.0, 0.0, 30.0, 1e3):
        value = float(bounded(unknown, torch.tensor(raw, dtype=torch.float64)))
        lo, hi = bounds or (None, None)
        assert math.isfinite(value) and (lo is None or value >= lo) and (hi is None or value <= hi)


BAD = {
    "initial outside bounds": ('k = p.add_unknown("k", initial=200, bounds=(0.01, 100))\n', "initial 200 is outside its bounds (0.01, 100)"),
    "bounds reversed": ('k = p.add_unknown("k", initial=1, bounds=(5, 1))\n', "need low < high"),
    "name of an output": ('k = p.add_unknown("u", initial=1)\n', "already used by a network output"),
    "name of a variable": ('k = p.add_unknown("x", initial=1)\n', "already a variable"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_unknowns_are_refused_at_their_line(project_with, case):
    line, message = BAD[case]
    header = 'from cfg import *\n[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])\n'
    with pytest.raises(ProblemError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_problem(project_with(header + line))
    assert info.value.lineno == 3


def test_unknown_settings_are_checked_against_the_problem(inverse):
    outline = load_problem(inverse).outline()
    assert list(default_config(outline)["unknowns"]) == ["k"]
    with pytest.raises(ConfigError, match='the problem has no unknown "q"'):
        set_values(default_config(outline), ["unknowns.q.trainable=false"], outline)
    with pytest.raises(ConfigError, match="unknowns.k.lr_scale"):
        set_values(default_config(outline), ["unknowns.k.lr_scale=0"], outline)
    weighted = set_values(default_config(outline), ["constraints.equation.weight=1/k"], outline)
    assert weighted["constraints"]["equation"]["weight"] == "1/k"


@pytest.mark.slow
def test_cli_shows_the_learned_unknown_in_status_training_and_infer(inverse):
    settings = [f"{s}" for s in FAST] + ["training.max_steps=20", "unknowns.k.lr_scale=20"]
    assert run_mtc("stage", "set", "stage1", *settings, cwd=inverse).returncode == 0
    before = run_mtc("show", "training", cwd=inverse)
    assert "k = not trained yet | lr_scale = 20" in before.stdout, before.stdout
    trained = run_mtc("train", cwd=inverse)
    assert trained.returncode == 0, trained.stderr
    value = load_stage(inverse, "stage1").unknowns["k"]
    status = run_mtc("status", cwd=inverse)
    assert "unknowns" in status.stdout and f"k={value:.6g}" in status.stdout, status.stdout
    assert f"k = {value:.8g}" in run_mtc("show", "training", cwd=inverse).stdout
    (inverse / "points.csv").write_text("x\n0.5\n")
    inferred = run_mtc("infer", "--stage", "stage1", "--input", "points.csv", "--output", "out.csv", cwd=inverse)
    assert f"unknown k = {value:.10g}" in inferred.stdout, inferred.stdout
    assert "residual_equation" in (inverse / "out.csv").read_text()  # residuals read k too


def test_show_problem_lists_unknowns(inverse):
    shown = run_mtc("show", "problem", cwd=inverse)
    assert "Unknowns (1)" in shown.stdout and "k: initial 1, bounds (0.01, 100)" in shown.stdout


def test_a_correction_stage_starts_from_the_parents_unknowns_and_trains_them_as_configured(inverse):
    parent = config_for(inverse, "training.max_steps=40", "training.log_every=40")
    learned = run(inverse, "s1", parent)[-1][1]
    with StageBook(inverse) as book:
        fix = book.new_child("stage1", "fix", kind="correction")  # created (it was refused before)
    outline = load_problem(inverse).outline()
    base = set_values(fix.config, [*FAST, "training.max_steps=4", "training.log_every=1"], outline)
    plan = dict(parent="s1", kind="correction")
    frozen = run(inverse, "c1", set_values(base, ["unknowns.k.trainable=false"], outline), **plan)
    assert [value for _, value in frozen] == pytest.approx([learned] * 4, rel=1e-12)
    moving = run(inverse, "c2", base, **plan)  # trainable, as by default
    assert moving[0][1] != moving[-1][1] and abs(moving[0][1] - learned) < 0.05 * learned
    assert load_stage(inverse, "c2").unknowns["k"] == pytest.approx(moving[-1][1])


def test_the_stage_tree_shows_the_learned_values(inverse):
    from configurator.stage_tree import StageTree

    with StageBook(inverse) as book:
        records = book.stages()
    tree = StageTree(on_select=lambda name: None)
    tree.update(records, [{"name": "stage1", "step": 20, "max_steps": 20, "loss": 1e-3, "unknowns": {"k": 0.7003}}], None, set())
    assert tree.label("stage1").endswith("· k = 0.7003")


def test_compare_and_the_configurators_compare_table_show_the_learned_unknowns(inverse):
    from configurator import ConfiguratorApp

    settings = [*FAST, "training.max_steps=3", "training.log_every=1", "unknowns.k.lr_scale=20"]
    assert run_mtc("stage", "set", "stage1", *settings, cwd=inverse).returncode == 0
    assert run_mtc("train", cwd=inverse).returncode == 0
    value = load_stage(inverse, "stage1").unknowns["k"]
    assert value != pytest.approx(1.0)  # it moved from its initial value
    shown = run_mtc("compare", "--json", cwd=inverse)
    (row,) = json.loads(shown.stdout)
    assert row["unknown.k"] == pytest.approx(value, rel=1e-6) and "final.unknown/k" not in row
    app = ConfiguratorApp(inverse)
    try:
        app.refresh()
        table = app.compare.table
        assert "unknown.k" in table.columns
        assert table.rows[0][table.columns.index("unknown.k")] == f"{value:.4g}"
    finally:
        app.close()
