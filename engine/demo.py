"""The demo: seed 002's heat-interface project, set up with CPU-friendly stages and trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .stages import StageBook
from .stages.database import database_exists
from .store import database_url

DEMO_EXAMPLE = "heat-interface"
NETS = ("metalNN", "paperNN")
PDES = ("metal_diff", "paper_diff")
# The interface temperature residual is ~1000x smaller than the flux one: weight it up.
STAGE1 = [
    *(f"nets.{n}.{k}" for n in NETS for k in ("layer_size=32", "nr_layers=3")),
    *(f"constraints.{c}.batch_size=128" for c in PDES), "constraints.interface_eq.weight=1000",
    "training.max_steps=1000", "training.precision=float64", "optimizer.lr=0.01", "training.log_every=10",
]  # fmt: skip
STAGE2 = [
    "optimizer.name=lbfgs", "training.max_steps=10", "training.resample_every=1000", "training.log_every=1",
    *(f"constraints.{c}.batch_size=1000" for c in PDES),
]  # fmt: skip


def exact_temperature(x: np.ndarray) -> np.ndarray:
    """The heat-interface solution: -x^2/20 + a x in the metal, b (x - 1) in the paper."""
    a, b = 25.0125 / 500.5, -12.5 / 500.5
    return np.where(x < 0.5, -(x**2) / 20 + a * x, b * (x - 1))


def prepare_demo(project: Path, max_steps: int | None = None) -> list[str]:
    """Give a fresh demo project its two stages (Adam branch, L-BFGS child); returns stages to train.

    ``max_steps`` shortens the Adam stage (a quick look; the result is then less accurate).
    """
    stage1 = STAGE1 + ([f"training.max_steps={max_steps}"] if max_steps else [])
    with StageBook(project) as book:
        if not database_exists(database_url(project)):
            book.init_conf()
            book.edit("stage1", stage1, description="Adam on both networks (CPU-sized)")
            book.new_child("stage1", "stage2", STAGE2, description="L-BFGS polish from stage1's weights")
        return [s.name for s in book.stages() if s.status != "done"]


def demo_report(project: Path) -> str:
    """Temperature of the trained demo against the exact solution at a few points."""
    from .inference import load_stage

    x = np.linspace(0, 1, 11)
    lines = ["    x      T (mtc)      T (exact)"]
    predicted = load_stage(project, "stage2").predict({"x": x})["T"]
    lines += [f"  {xi:4.2f}  {p:11.6f}  {e:11.6f}" for xi, p, e in zip(x, predicted, exact_temperature(x))]
    fine = np.linspace(0, 1, 2001)
    error = np.linalg.norm(load_stage(project, "stage2").predict({"x": fine})["T"] - exact_temperature(fine))
    lines.append(f"relative L2 error: {error / np.linalg.norm(exact_temperature(fine)):.2e}")
    return "\n".join(lines)
