"""Why a second correction gains little: the precision-1d README run, its second correction varied.

Trains the README's stage 1 (600 Adam + 30 L-BFGS, 256 points, tanh 32x3, float64) and first
correction (300 Adam + 30 L-BFGS), reports the sine-series spectrum of the error left after the
first correction (the residual is that error's second derivative, ``e'' = r``, so each band's
share of the residual is its error times ``(2 pi f)^2``), then trains the second correction with
each variant (batch size, steps) from the same parent and reports the error it reaches,
its eps, the scale the correction guard kept and by which criterion (with the criterion's value at
scales 1 and 0), and the batch the correction trained with (``default``: the parent's 256 points,
sized by the batch rule; ``points255``: set on the stage, so kept, i.e. the old batch; ``resample<k>``:
new points every k finishing steps, ``training.correction_resample_every``; ``halton``: quasi-random
points; ``lm...``: LM finishing steps). ``--setup chain`` trains the precision benchmark's chain
shape instead (20x3, 1000 Halton points, LM finishing) with fixed step counts.

    python benchmarks/second_correction.py [--setup readme|chain] [--variants default,points4096,...] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.fft import dst

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.config import default_config, set_values  # noqa: E402
from engine.inference import load_stage  # noqa: E402
from engine.layout import stage_folder  # noqa: E402
from engine.problem import load_problem  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402
from engine.train.checkpoint import load_checkpoint  # noqa: E402

GRID = {"x": np.linspace(0.0, 1.0, 2001)}
FINE = 8192  # interior points of the sine-series grid
README = [
    "training.precision=float64", "nets.NN.layer_size=32", "nets.NN.nr_layers=3", "nets.NN.activation=tanh",
    "constraints.poisson.batch_size=256", "training.max_steps=600", "training.then_lbfgs_steps=30", "training.device=cpu",
]  # fmt: skip
CHAIN = [  # --setup chain: the precision benchmark's chain (benchmarks/precision.py) with fixed step counts
    "training.precision=float64", "nets.NN.layer_size=20", "nets.NN.nr_layers=3", "nets.NN.activation=tanh",
    "constraints.poisson.batch_size=1000", "training.sampler=halton", "training.resample_every=1", "training.device=cpu",
    "scheduler.name=exponential", "scheduler.decay_rate=0.5", "optimizer.lr=0.005", "training.max_steps=250",
    "scheduler.decay_steps=42", "training.then_lm_steps=60",
]  # fmt: skip
CHAIN_CORRECTION = ["training.max_steps=125", "scheduler.decay_steps=21", "training.then_lm_steps=20"]
VARIANTS = {  # the second correction's settings on top of the first's (a batch_size equal to the parent's, 256, is
    # sized by the rule of engine.train.correction_batch; one that differs is kept as set)
    "default": [],
    "points255": ["constraints.poisson.batch_size=255"],
    "points1024": ["constraints.poisson.batch_size=1024"],
    "points4096": ["constraints.poisson.batch_size=4096"],
    "steps4x": ["training.max_steps=1200", "training.then_lbfgs_steps=120"],
    "points4096+steps4x": ["constraints.poisson.batch_size=4096", "training.max_steps=1200", "training.then_lbfgs_steps=120"],
    "halton": ["training.sampler=halton"],
    "halton+steps4x": ["training.sampler=halton", "training.max_steps=1200", "training.then_lbfgs_steps=120"],
    "resample1": ["training.correction_resample_every=1"],
    "resample5": ["training.correction_resample_every=5"],
    "steps4x+resample1": ["training.max_steps=1200", "training.then_lbfgs_steps=120", "training.correction_resample_every=1"],
    "lm10": ["training.then_lm_steps=10"],
    "lm60": ["training.then_lm_steps=60"],
    "lm60+resample5": ["training.then_lm_steps=60", "training.correction_resample_every=5"],
    "lm": ["training.then_lbfgs_steps=0", "training.then_lm_steps=30"],
    "lm+resample1": ["training.then_lbfgs_steps=0", "training.then_lm_steps=30", "training.correction_resample_every=1"],
    "lm+resample5": ["training.then_lbfgs_steps=0", "training.then_lm_steps=30", "training.correction_resample_every=5"],
}


def exact(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * x) + 0.1 * np.sin(8 * np.pi * x)


def relative_error(project: Path, stage: str) -> float:
    u = load_stage(project, stage).predict(GRID)["u"]
    return float(np.linalg.norm(u - exact(GRID["x"])) / np.linalg.norm(exact(GRID["x"])))


def spectrum(project: Path, stage: str) -> str:
    """The error's sine series by band: RMS error and the residual RMS it shows as (times (2 pi f)^2)."""
    x = np.arange(1, FINE + 1) / (FINE + 1)
    e = load_stage(project, stage).predict({"x": x})["u"] - exact(x)
    b = dst(e, type=1) / (FINE + 1)  # e = sum_k b_k sin(pi k x): frequency k / 2 cycles per unit
    f = np.arange(1, FINE + 1) / 2
    parts = []
    for lo, hi in ((0, 4), (4, 16), (16, 64), (64, 256), (256, FINE)):
        band = (f > lo) & (f <= hi)
        err = float(np.sqrt(np.sum(b[band] ** 2) / 2))
        res = float(np.sqrt(np.sum((b[band] * (2 * np.pi * f[band]) ** 2) ** 2) / 2))
        parts.append(f"f in ({lo}, {hi}]: error {err:.1e}, residual {res:.1e}")
    return "; ".join(parts)


def train(project: Path, base: dict, outline, stage: str, parent: str | None, settings: list[str]) -> float:
    config = set_values(base, settings, outline)
    began = time.process_time()
    train_stage(StagePlan(project, stage, config, parent=parent, kind="standard" if parent is None else "correction", device="cpu"), StageHooks())
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--setup", choices=("readme", "chain"), default="readme",
        help="readme: the README run (L-BFGS finishing, 256 points); chain: the precision benchmark's chain with "
        "fixed steps (20x3, 1000 Halton points, 250 Adam + 60 LM, each correction 125 Adam + 20 LM)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        project = create_project(Path(root) / "p", example="precision-1d")
        outline = load_problem(project).outline()
        chain = args.setup == "chain"
        base = set_values(default_config(outline), [*(CHAIN if chain else README), f"training.seed={args.seed}"], outline)
        correction = CHAIN_CORRECTION if chain else ["training.max_steps=300"]
        train(project, base, outline, "s1", None, [])
        train(project, base, outline, "c1", "s1", correction)
        print(f"stage 1 {relative_error(project, 's1'):.2e}; correction 1 {relative_error(project, 'c1'):.2e}")
        print(f"error left after correction 1: {spectrum(project, 'c1')}")
        for name in args.variants.split(","):
            stage = f"c2_{name.replace('+', '_')}"
            seconds = train(project, base, outline, stage, "c1", [*correction, *VARIANTS[name]])
            record = load_checkpoint(stage_folder(project, stage), stage)["correction"]
            out = record["outputs"]["v"]
            batch = record.get("batch", {}).get("poisson", {})
            guard = record.get("guard", {})
            by_scale = guard.get("by_scale", {})
            print(f"correction 2 {name:>20}: {relative_error(project, stage):.2e}  eps {out['eps']:.1e} "
                  f"(implied {out['implied_error']:.1e}, f_d {out['f_d']:.3g}) scale {record.get('scale')} by {guard.get('criterion')} "
                  f"(1: {by_scale.get('1', float('nan')):.2e}, 0: {by_scale.get('0', float('nan')):.2e}); "
                  f"batch {batch.get('used')} (ratio {batch.get('ratio', float('nan')):.3g})  {seconds:.0f} CPU-s",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
