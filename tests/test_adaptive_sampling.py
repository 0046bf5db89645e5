"""Residual-based adaptive sampling (training.sampler=rad|rar_d): where points go, bad input, training, resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.config import ConfigError, default_config, set_values
from engine.inference import load_stage
from engine.layout import stage_folder
from engine.problem import load_problem
from engine.results.solution import compute_solution, figure_1d
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.adaptive.pool import residual_density, weighted_pick
from engine.train.checkpoint import load_checkpoint
from engine.train.stage import prepare

# u'' = exp(8 x) - sin(x) on [0, 1]: with the network fixed to u = sin(x) the residual is exactly exp(8 x),
# large in the right half of the interval.
STEEP = """
from cfg import *
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
geom = p.Line1D("geom", 0, 1)
k = Symbol("k")
interior = p.add_interior_subdomain("interior", geom=geom, params={k: (1, 2)}, criteria=x > 0.01 * k)
boundary = p.add_boundary_subdomain("boundary", geom=geom)
p.add_constraint("steep", enforce(equation=Eq(u.diff(x, 2), exp(8 * x) - sin(x)), on_domain=interior))
p.add_constraint("ends", enforce(equation=Eq(u, 0), on_domain=boundary))
p.add_data_constraint("measured", model=u, data_fname="data.csv")
p.set_reference(u=x * 0)
"""
SMALL = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "nets.NN.activation=tanh", "training.precision=float64"]


class Sine(torch.nn.Module):
    """The fixed network u = sin(x)."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.sin(inputs)


@pytest.fixture
def steep(project_with):
    folder = project_with(STEEP)
    (folder / "data.csv").write_text("x,u\n" + "".join(f"{x},0\n" for x in np.linspace(0, 1, 11)))
    return folder


def configured(folder, *assignments):
    outline = load_problem(folder).outline()
    return set_values(default_config(outline), [*SMALL, *assignments], outline)


def right_share(folder, *assignments) -> float:
    """The share of the 'steep' batch in x > 1/2, drawn by the stage's real sampler with u fixed to sin(x)."""
    state, _, _ = prepare(StagePlan(folder, "s", configured(folder, *assignments)), StageHooks())
    state.bindings["NN"] = dataclasses.replace(state.bindings["NN"], module=Sine())  # the draws read this mapping
    (term,) = [t for t in state.terms if t.name == "steep"]
    x = np.concatenate([term.draw()["x"] for _ in range(3)])
    assert len(x) == 3 * 2000 and (x > 0.01).all()  # criteria hold for the pool's points too
    return float((x > 0.5).mean())


def expected_share(k: float, c: float) -> float:
    """The right half's probability under the density exp(8 x)^k / mean + c on [0, 1]."""
    x = (np.arange(200000) + 0.5) / 200000
    density = np.exp(8 * k * x) / np.exp(8 * k * x).mean() + c
    return float(density[x > 0.5].sum() / density.sum())


def test_rad_draws_more_points_where_the_residual_is_large(steep):
    batch = ["constraints.steep.batch_size=2000", "training.seed=3"]
    uniform = right_share(steep, *batch)
    rad = right_share(steep, *batch, "training.sampler=rad", "training.rad.pool=40000")
    sharp = right_share(steep, *batch, "training.sampler=rad", "training.rad.pool=40000", "training.rad.k=2", "training.rad.c=0")
    assert abs(uniform - 0.5) < 0.03
    assert rad > 0.7 and abs(rad - expected_share(1, 1)) < 0.03  # 0.741 from the density
    assert sharp > 0.97


def test_rar_d_keeps_the_batch_and_adds_points_up_to_its_cap(steep):
    config = configured(steep, "constraints.steep.batch_size=100", "training.sampler=rar_d", "training.rad.add=30",
                        "training.rad.max_growth=1.5", "training.rad.pool=1000", "training.rad.k=2", "training.rad.c=0")  # fmt: skip
    state, _, _ = prepare(StagePlan(steep, "s", config), StageHooks())
    state.bindings["NN"] = dataclasses.replace(state.bindings["NN"], module=Sine())
    (term,) = [t for t in state.terms if t.name == "steep"]
    sizes = [len(term.draw()["x"]) for _ in range(3)]
    assert sizes == [130, 150, 150]  # 100 ordinary points + 30, 60 -> capped at 50 added
    added = term.draw.added["x"]
    assert len(added) == 50 and (added > 0.5).mean() > 0.9
    batch = term.draw.points
    assert np.isclose(batch["area"].sum(), 0.99, rtol=0.05)  # the criteria keep x > 0.01 k of [0, 1]


def test_density_and_pick():
    density = residual_density(np.array([0.0, 1.0, 3.0, np.nan]), k=1, c=0)
    np.testing.assert_allclose(density, [0, 0.25, 0.75, 0])
    np.testing.assert_allclose(residual_density(np.zeros(4), k=1, c=0), 0.25)  # nothing to adapt to: uniform
    rng = np.random.default_rng(0)
    picks = np.concatenate([weighted_pick(rng, density, 1) for _ in range(4000)])
    assert set(picks) == {1, 2} and abs((picks == 2).mean() - 0.75) < 0.03
    assert sorted(weighted_pick(rng, density, 2)) == [1, 2]


def test_bad_settings_are_refused_when_set(steep):
    outline = load_problem(steep).outline()
    config = default_config(outline)
    with pytest.raises(ConfigError, match=r"training\.rad\.k: .*10"):
        set_values(config, ["training.rad.k=11"], outline)
    with pytest.raises(ConfigError, match=r"training\.rad\.c"):
        set_values(config, ["training.rad.c=-1"], outline)
    with pytest.raises(ConfigError, match=r"training\.rad\.pool: 500 candidate points are fewer than the 1000 .*steep"):
        set_values(config, ["training.sampler=rad", "training.rad.pool=500"], outline)
    data_only = ["constraints.steep.include=false", "constraints.ends.include=false", "training.sampler=rad"]
    with pytest.raises(ConfigError, match=r"training\.sampler: rad .* includes none .*training\.sampler=uniform"):
        set_values(config, data_only, outline)
    boundary_only = ["constraints.steep.include=false", "training.sampler=rar_d"]
    with pytest.raises(ConfigError, match=r"training\.sampler: rar_d"):
        set_values(config, boundary_only, outline)
    rad = set_values(config, ["training.sampler=rad"], outline)
    with pytest.raises(ConfigError, match=r"training\.sampler: rad"):  # excluding the last interior constraint later
        set_values(rad, ["constraints.steep.include=false"], outline)


@pytest.mark.parametrize("sampler", ["rad", "rar_d"])
def test_adaptive_stage_trains_checkpoints_its_points_and_resumes(steep, sampler):
    config = configured(steep, f"training.sampler={sampler}", "training.max_steps=12", "training.resample_every=4",
                        "training.checkpoint_every=6", "training.rad.pool=300", "constraints.steep.batch_size=64",
                        "constraints.ends.batch_size=2", "data.measured.batch_size=5", "training.log_every=1",
                        "training.rad.add=20")  # fmt: skip
    rows: list = []
    stops = iter([False] * 5 + [True])
    outcome = train_stage(StagePlan(steep, "s1", config), StageHooks(log=rows.extend, stop_requested=lambda: next(stops)))
    assert outcome == "cancelled"
    saved = load_checkpoint(stage_folder(steep, "s1"), "s1")
    assert saved["step"] == 6 and saved["adaptive"]["sampler"] == sampler
    before = saved["adaptive"]["draws"]["steep"]
    assert set(before) >= {"points"} and len(before["points"]["x"]) >= 64
    outcome = train_stage(StagePlan(steep, "s1", config, resume=True), StageHooks(log=rows.extend))
    assert outcome == "done"
    steps = [step for step, _, key, _ in rows if key == "total"]
    assert steps == list(range(12)) and all(np.isfinite(v) for _, _, key, v in rows if key == "total")
    points = load_stage(steep, "s1").points
    assert set(points) == {"steep"} and (points["steep"]["x"] > 0.01).all()
    solution = compute_solution(steep, "s1")  # the solution view draws them
    assert solution.quantities()[-1] == "training points of steep"
    drawn = {trace.name: trace for trace in figure_1d(solution).data}
    np.testing.assert_array_equal(drawn["training points of steep"].x, points["steep"]["x"])
    if sampler == "rar_d":  # 20 added at steps 0, 4 (checkpointed), 6, 10: capped at 64 only if they came back
        assert len(points["steep"]["x"]) == 64 + 64
