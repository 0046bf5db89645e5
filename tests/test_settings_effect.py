"""Each training setting changes training as documented: a few steps, checked against its formula.

Every test here fails if the loop ignores the setting (checked once by disabling each in turn).
Steps run in float64, so the logged values and the weights match the formulas to ~1e-12.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from engine.config import default_config, set_values
from engine.inference import load_stage
from engine.layout import stage_folder
from engine.problem import load_problem
from engine.project import create_project
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.checkpoint import load_checkpoint
from engine.train.stage import prepare
from engine.train.terms import LossTerm

SMALL = ["layer_size=8", "nr_layers=2", "activation=tanh"]
# An SGD step this small leaves the weights at their initial values: what was logged at step s
# can then be recomputed from the checkpoint.
FROZEN = ["optimizer.name=sgd", "optimizer.lr=1e-300", "optimizer.momentum=0"]
Weights = dict[str, torch.Tensor]


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    return create_project(tmp_path / "hello", example="hello-world")


def stage_config(folder: Path, *assignments: str) -> dict:
    """float64, a loss row every step, constant lr, small networks; then ``assignments``."""
    outline = load_problem(folder).outline()
    nets = [f"nets.{net}.{s}" for net in outline.networks for s in SMALL]
    base = ["training.precision=float64", "training.log_every=1", "scheduler.name=constant", "training.seed=3"]
    return set_values(default_config(outline), [*base, *nets, *assignments], outline)


def train(folder: Path, stage: str, config: dict) -> dict[str, list[float]]:
    """Train ``stage``; returns each logged key's values, in step order."""
    rows: list[tuple[int, float, str, float]] = []
    train_stage(StagePlan(folder, stage, config), StageHooks(log=rows.extend))
    series: dict[str, list[float]] = {}
    for _, _, key, value in sorted(rows, key=lambda row: row[0]):
        series.setdefault(key, []).append(value)
    return series


def trained_weights(folder: Path, stage: str) -> Weights:
    """``net.param`` -> the stage's weights in its checkpoint."""
    networks = load_checkpoint(stage_folder(folder, stage), stage)["networks"]
    return {f"{net}.{name}": value for net, state in networks.items() for name, value in state.items()}


def initial_weights_and_gradient(folder: Path, config: dict) -> tuple[Weights, Weights]:
    """The weights a stage with ``config`` starts from and the gradient of its first loss (on its first batch)."""
    state, _, _ = prepare(StagePlan(folder, "probe", config), StageHooks())
    batches = [term.columns(state.dtype, state.device) for term in state.terms]
    sum(term.loss(state.bindings, batch) for term, batch in zip(state.terms, batches)).backward()
    named = {f"{net}.{name}": p for net, b in state.bindings.items() for name, p in b.module.named_parameters()}
    return {k: p.detach().clone() for k, p in named.items()}, {k: p.grad.clone() for k, p in named.items()}


def norm(tensors: Weights) -> float:
    return math.sqrt(sum(float(t.square().sum()) for t in tensors.values()))


def assert_weights(actual: Weights, expected: Weights) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=1e-10, atol=1e-14, msg=key)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Every batch the loop draws, as (term, columns), recorded as it passes (sampling itself runs unchanged)."""
    batches: list[tuple[str, dict[str, np.ndarray]]] = []
    draw = LossTerm.columns

    def recorded(term: LossTerm, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        columns = draw(term, dtype, device)
        batches.append((term.name, {k: v.detach().cpu().numpy().ravel() for k, v in columns.items()}))
        return columns

    monkeypatch.setattr(LossTerm, "columns", recorded)
    return batches


# -- optimizers: one step against the update formula --------------------------------------------------


def test_sgd_step_is_lr_times_gradient_plus_l2(hello):
    lr, decay = 0.05, 0.01
    config = stage_config(hello, "optimizer.name=sgd", f"optimizer.lr={lr}", "optimizer.momentum=0.9",
                          f"optimizer.weight_decay={decay}", "training.max_steps=1")  # fmt: skip
    w0, grad = initial_weights_and_gradient(hello, config)
    train(hello, "s1", config)
    # SGD's first momentum buffer is the gradient itself (plus the L2 term)
    assert_weights(trained_weights(hello, "s1"), {k: w0[k] - lr * (grad[k] + decay * w0[k]) for k in w0})


def test_adamw_step_decays_the_weights_apart_from_the_gradient(hello):
    lr, decay, eps = 0.01, 0.1, 1e-8
    config = stage_config(hello, "optimizer.name=adamw", f"optimizer.lr={lr}", f"optimizer.weight_decay={decay}",
                          f"optimizer.eps={eps}", "training.max_steps=1")  # fmt: skip
    w0, grad = initial_weights_and_gradient(hello, config)
    train(hello, "s1", config)
    # first Adam step: bias-corrected m / sqrt(v) = g / |g|; AdamW shrinks the weights by lr * decay
    # separately (Adam's L2 would put decay * w inside g / |g| instead)
    expected = {k: w0[k] * (1 - lr * decay) - lr * grad[k] / (grad[k].abs() + eps) for k in w0}
    assert_weights(trained_weights(hello, "s1"), expected)


# -- gradient clipping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 10.0])
def test_grad_clip_bounds_the_step_and_grad_norm_is_logged(hello, fraction):
    lr = 0.01
    plain = stage_config(hello, "optimizer.name=sgd", f"optimizer.lr={lr}", "optimizer.momentum=0", "training.max_steps=1")
    w0, grad = initial_weights_and_gradient(hello, plain)
    clip = fraction * norm(grad)
    config = set_values(plain, [f"training.grad_clip={clip!r}"], load_problem(hello).outline())
    logged = train(hello, "s1", config)
    assert logged["grad_norm"] == [pytest.approx(norm(grad), rel=1e-10)]  # the norm before clipping
    w1 = trained_weights(hello, "s1")
    applied = norm({k: (w0[k] - w1[k]) / lr for k in w0})
    assert applied == pytest.approx(min(clip, norm(grad)), rel=1e-5)  # torch clips to clip / (norm + 1e-6)


# -- schedulers: the logged lr follows each formula ----------------------------------------------------


def test_step_scheduler_multiplies_lr_by_gamma_every_step_size(hello):
    config = stage_config(hello, "optimizer.lr=0.01", "scheduler.name=step", "scheduler.step_size=7",
                          "scheduler.gamma=0.5", "training.max_steps=30")  # fmt: skip
    lr = train(hello, "s1", config)["lr"]
    assert lr == pytest.approx([0.01 * 0.5 ** (step // 7) for step in range(30)], rel=1e-12)


def test_cosine_scheduler_follows_the_cosine_over_max_steps(hello):
    lr0, low, steps = 0.01, 1e-4, 20
    # scheduler.t_max is null: one half-period over max_steps
    config = stage_config(hello, f"optimizer.lr={lr0}", "scheduler.name=cosine", f"scheduler.eta_min={low}",
                          f"training.max_steps={steps}")  # fmt: skip
    lr = train(hello, "s1", config)["lr"]
    expected = [low + (lr0 - low) * (1 + math.cos(math.pi * step / steps)) / 2 for step in range(steps)]
    assert lr == pytest.approx(expected, rel=1e-9)


def test_plateau_scheduler_cuts_lr_after_patience_steps_without_improvement(hello):
    factor, patience, threshold = 0.5, 2, 0.05
    config = stage_config(hello, "optimizer.lr=0.01", "scheduler.name=plateau", f"scheduler.factor={factor}",
                          f"scheduler.patience={patience}", f"scheduler.threshold={threshold}",
                          "scheduler.min_lr=0.002", "training.max_steps=60")  # fmt: skip
    logged = train(hello, "s1", config)
    expected, best, bad, lr = [], math.inf, 0, 0.01
    for total in logged["total"]:  # the rule as documented, replayed on the logged losses
        expected.append(lr)
        if total < best * (1 - threshold):
            best, bad = total, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = max(lr * factor, 0.002), 0
    assert logged["lr"] == pytest.approx(expected, rel=1e-12)
    assert len(set(expected)) >= 3, f"the test never saw the lr cut twice: {sorted(set(expected))}"


# -- constraint weights -----------------------------------------------------------------------------------


def test_number_weights_scale_their_terms_in_the_logged_total(hello):
    one = train(hello, "s1", stage_config(hello, *FROZEN, "training.max_steps=1"))
    weighted = train(hello, "s2", stage_config(hello, *FROZEN, "training.max_steps=1",
                                               "constraints.diffusion.weight=0.25", "constraints.ends.weight=3"))  # fmt: skip
    assert weighted["diffusion"][0] == pytest.approx(0.25 * one["diffusion"][0], rel=1e-12)
    assert weighted["ends"][0] == pytest.approx(3 * one["ends"][0], rel=1e-12)
    assert weighted["total"][0] == pytest.approx(weighted["diffusion"][0] + weighted["ends"][0], rel=1e-12)


def test_expression_weight_weighs_each_point_by_its_value(hello, drawn):
    logged = train(hello, "s1", stage_config(hello, *FROZEN, "training.max_steps=1", "constraints.diffusion.weight=2*sdf"))
    batch = next(columns for term, columns in drawn if term == "diffusion")
    x, sdf = batch["x"], batch["sdf"]
    np.testing.assert_allclose(sdf, np.minimum(x, 1 - x), atol=1e-12)  # the distance to the ends of [0, 1]
    residual = load_stage(hello, "s1").predict({"x": x, "sdf": sdf})["residual_diffusion"]
    assert logged["diffusion"][0] == pytest.approx(np.mean(2 * sdf * residual**2), rel=1e-10)
    assert logged["diffusion"][0] != pytest.approx(np.mean(residual**2), rel=1e-3)


# -- resampling and samplers ------------------------------------------------------------------------------


@pytest.mark.parametrize("every", [1, 3])
def test_resample_every_keeps_the_points_for_that_many_steps(hello, every):
    # weights that do not move: the loss changes exactly when the points do
    config = stage_config(hello, *FROZEN, "training.max_steps=9", f"training.resample_every={every}")
    totals = train(hello, "s1", config)["total"]
    changed = [step for step in range(1, 9) if totals[step] != totals[step - 1]]
    assert changed == list(range(every, 9, every))


def interior_points(hello: Path, drawn: list, stage: str, *assignments: str) -> np.ndarray:
    """The interior points of the first step of a stage trained with ``assignments``."""
    drawn.clear()
    train(hello, stage, stage_config(hello, "training.max_steps=1", "constraints.diffusion.batch_size=64", *assignments))
    return next(columns["x"] for term, columns in drawn if term == "diffusion")


def test_samplers_draw_their_documented_points(hello, drawn):
    points = {s: interior_points(hello, drawn, s, f"training.sampler={s}") for s in ("uniform", "sobol", "halton")}
    cells = {s: np.bincount((x * 64).astype(int), minlength=64) for s, x in points.items()}
    # 64 quasi-random points of [0, 1] fill its 64 cells one each; 64 uniform random ones do not
    # (they would with probability 64!/64^64 ~ 1e-27)
    assert (cells["sobol"] == 1).all() and (cells["halton"] == 1).all()
    assert (cells["uniform"] != 1).any()
    assert not np.allclose(np.sort(points["sobol"]), np.sort(points["halton"]))
    # scrambled, reproducible from the stage seed
    np.testing.assert_array_equal(interior_points(hello, drawn, "again", "training.sampler=sobol"), points["sobol"])
    other_seed = interior_points(hello, drawn, "seed4", "training.sampler=sobol", "training.seed=4")
    assert not np.allclose(np.sort(other_seed), np.sort(points["sobol"]))


# -- data constraints --------------------------------------------------------------------------------------


def test_data_constraint_loss_is_the_mean_squared_misfit_on_its_rows(tmp_path):
    wave = create_project(tmp_path / "wave", example="wave-1d")
    off = [f"constraints.{c}.include=false" for c in ("wave_equation", "initial_u", "initial_u_t", "boundary")]
    logged = train(wave, "s1", stage_config(wave, *FROZEN, *off, "training.max_steps=1", "data.sensors.batch_size=1000"))
    rows = pd.read_csv(wave / "sensors.csv")
    predicted = load_stage(wave, "s1").predict({"x": rows["x"].to_numpy(), "t": rows["t"].to_numpy()})["u"]
    assert set(logged) == {"sensors", "total", "lr", "grad_norm"}
    assert logged["sensors"][0] == pytest.approx(np.mean((predicted - rows["u"].to_numpy()) ** 2), rel=1e-10)
