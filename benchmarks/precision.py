"""Precision of one stage (Adam then L-BFGS) against the same budget split into a stage and two corrections.

For each problem, in one run, on the CPU (float64):

- single: one stage of ``--adam`` Adam steps then ``--lbfgs`` L-BFGS steps (``training.then_lbfgs_steps``);
- multi-stage: the same numbers of Adam and L-BFGS steps split (``--split``) over stage 1 and two
  correction stages (``mtc stage child ... --kind correction``), each Adam then L-BFGS; each
  correction freezes the model so far and learns ``eps * u_corr`` with eps and the Fourier
  feature scale 2 pi f_d computed from the residual when it starts.

Reported per run: relative L2 error and max pointwise error against the exact solution on a
fine grid (10001 points), the RMS of the equation residuals on that grid, and the wall time;
then the loss curves (total loss at a few steps of each stage) and each correction's eps and f_d.

Problems: ``precision-1d`` (u'' = f on [0, 1], u = sin(2 pi x) + 0.1 sin(8 pi x), boundary
conditions built into the model) and ``heat-interface`` (MTC's two-network problem with an
interface; exact piecewise polynomial).

    python benchmarks/precision.py [--problems precision-1d,heat-interface] [--adam 1000] [--lbfgs 600]
        [--split 0.6,0.2,0.2] [--lbfgs-split 0.34,0.33,0.33] [--lr 5e-3] [--correction-frequency error]
        [--batch-scale 1] [--threads 1] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.config import default_config, set_values  # noqa: E402
from engine.inference import load_stage  # noqa: E402
from engine.problem import load_problem  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402

GRID = np.linspace(0.0, 1.0, 10001)


@dataclass(frozen=True)
class Problem:
    """An example project, its exact solution and where its equations' residuals are measured."""

    example: str
    output: str
    exact: Callable[[np.ndarray], np.ndarray]
    residuals: dict[str, Callable[[np.ndarray], np.ndarray]]  # constraint -> mask of GRID where it applies
    settings: list[str] = field(default_factory=list)


def _heat_exact(x: np.ndarray) -> np.ndarray:
    a, b = 25.0125 / 500.5, -12.5 / 500.5
    return np.where(x < 0.5, -(x**2) / 20 + a * x, b * (x - 1))


PROBLEMS = {
    "precision-1d": Problem(
        "precision-1d", "u", lambda x: np.sin(2 * np.pi * x) + 0.1 * np.sin(8 * np.pi * x),
        {"poisson": lambda x: np.ones_like(x, dtype=bool)},
        ["nets.NN.layer_size=32", "nets.NN.nr_layers=3", "constraints.poisson.batch_size=1000"],
    ),
    "heat-interface": Problem(
        "heat-interface", "T", _heat_exact,
        {"metal_diff": lambda x: x <= 0.5, "paper_diff": lambda x: x >= 0.5},
        [f"nets.{n}.{k}" for n in ("metalNN", "paperNN") for k in ("layer_size=32", "nr_layers=3")]
        + [f"constraints.{c}.batch_size={b}" for c, b in
           (("metal_diff", 500), ("paper_diff", 500), ("interface_eq", 10), ("interface_flux", 10))],
    ),
}  # fmt: skip

COMMON = [
    "training.precision=float64", "training.device=cpu", "training.log_every=10", "training.checkpoint_every=1000000",
    "training.resample_every=1", "training.sampler=halton", "scheduler.name=exponential", "scheduler.decay_rate=0.5",
    "optimizer.lr=0.001",
]  # fmt: skip


@dataclass
class Run:
    name: str
    stages: list[str]
    seconds: float = 0.0
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    corrections: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def _train(project: Path, stage: str, config: dict, parent: str | None, kind: str, run: Run) -> None:
    rows: list = []
    found: dict = {}
    began = time.perf_counter()
    hooks = StageHooks(log=rows.extend, corrected=found.update)
    train_stage(StagePlan(project, stage, config, parent=parent, kind=kind, device="cpu"), hooks)
    run.seconds += time.perf_counter() - began
    run.curves[stage] = [(step, value) for step, _, key, value in rows if key == "total"]
    if found:
        run.corrections[stage] = found


def _measure(project: Path, stage: str, problem: Problem, run: Run) -> None:
    model = load_stage(project, stage)
    predicted = model.predict({"x": GRID})
    exact = problem.exact(GRID)
    error = predicted[problem.output] - exact
    residuals = np.concatenate([predicted[f"residual_{c}"][mask(GRID)] for c, mask in problem.residuals.items()])
    run.metrics = {
        "relative_l2": float(np.linalg.norm(error) / np.linalg.norm(exact)),
        "max_error": float(np.abs(error).max()),
        "residual_rms": float(np.sqrt(np.mean(residuals**2))),
    }


def scaled_batches(settings: list[str], scale: float) -> list[str]:
    """``settings`` with every ``...batch_size=N`` multiplied by ``scale``."""
    def scaled(setting: str) -> str:
        key, value = setting.split("=", 1)
        return f"{key}={max(1, round(int(value) * scale))}" if key.endswith(".batch_size") else setting

    return [scaled(setting) for setting in settings]


def _steps(total: int, split: list[float]) -> list[int]:
    parts = [int(round(total * s)) for s in split]
    parts[0] += total - sum(parts)
    return parts


def bench(
    problem: Problem, adam: int, lbfgs: int, split: list[float], lbfgs_split: list[float], root: Path, lr: float,
    frequency: str = "error", batch_scale: float = 1.0,
) -> list[Run]:
    project = create_project(root / problem.example, example=problem.example)
    outline = load_problem(project).outline()
    tanh = [f"nets.{name}.activation=tanh" for name in outline.networks]
    settings = [*COMMON, *tanh, *scaled_batches(problem.settings, batch_scale), f"optimizer.lr={lr}"]
    base = set_values(default_config(outline), settings, outline)
    decay = lambda steps: f"scheduler.decay_steps={max(steps // 6, 1)}"  # noqa: E731  lr / 2 every sixth
    single = Run("single stage (Adam + L-BFGS)", ["single"])
    config = set_values(base, [f"training.max_steps={adam}", f"training.then_lbfgs_steps={lbfgs}", decay(adam)], outline)
    _train(project, "single", config, None, "standard", single)
    _measure(project, "single", problem, single)

    multi = Run(f"stage + {len(split) - 1} corrections", [])
    parent = None
    for i, (a, b) in enumerate(zip(_steps(adam, split), _steps(lbfgs, lbfgs_split))):
        name = f"s{i + 1}"
        steps = [f"training.max_steps={a}", f"training.then_lbfgs_steps={b}", decay(a)]
        config = set_values(base, [*steps, f"training.correction_frequency={frequency}"], outline)
        _train(project, name, config, parent, "standard" if parent is None else "correction", multi)
        multi.stages.append(name)
        _measure(project, name, problem, multi)
        print(f"  {problem.example} {name}: {multi.metrics}", file=sys.stderr, flush=True)
        parent = name
    return [single, multi]


def _curve(points: list[tuple[int, float]], count: int = 8) -> str:
    if not points:
        return "-"
    picks = sorted({round(i * (len(points) - 1) / (count - 1)) for i in range(count)})
    return ", ".join(f"{points[i][0]}: {points[i][1]:.1e}" for i in picks)


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"torch {torch.__version__}, Python {platform.python_version()}",
        f"Budget per run: {args.adam} Adam + {args.lbfgs} L-BFGS steps; multi-stage shares: Adam {args.split}, "
        f"L-BFGS {args.lbfgs_split}; correction_frequency={args.correction_frequency}; Adam lr {args.lr}; "
        f"batch sizes x{args.batch_scale:g}",
        "",
        "| problem | run | relative L2 error | max error | residual RMS | wall time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for example, runs in results.items():
        for run in runs:
            m = run.metrics
            lines.append(
                f"| {example} | {run.name} | {m['relative_l2']:.2e} | {m['max_error']:.2e} | "
                f"{m['residual_rms']:.2e} | {run.seconds:.0f} |"
            )
    lines += ["", "Loss curves (step: total loss):", ""]
    for example, runs in results.items():
        for run in runs:
            for stage, points in run.curves.items():
                lines.append(f"- {example} {stage}: {_curve(points)}")
    lines += ["", "Corrections (per output: eps, f_d):", ""]
    for example, runs in results.items():
        for run in runs:
            for stage, found in run.corrections.items():
                parts = [f"{out} eps = {e['eps']:.2e}, f_d = {e['f_d']:.3g}" for out, e in found["outputs"].items()]
                lines.append(f"- {example} {stage}: " + "; ".join(parts))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default="precision-1d,heat-interface")
    parser.add_argument("--adam", type=int, default=1000, help="Adam steps per run (all stages together)")
    parser.add_argument("--lbfgs", type=int, default=600, help="L-BFGS steps per run (all stages together)")
    parser.add_argument("--split", default="0.6,0.2,0.2", help="share of the Adam steps of stage 1 and each correction")
    parser.add_argument("--lbfgs-split", default="0.34,0.33,0.33", help="share of the L-BFGS steps of stage 1 and each correction")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam's initial learning rate")
    parser.add_argument(
        "--correction-frequency", choices=("error", "residual"), default="error",
        help="training.correction_frequency of the correction stages (see docs/precision.md)",
    )
    parser.add_argument("--batch-scale", type=float, default=1.0, help="multiply every constraint's batch size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady timings on a shared CPU)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = [float(s) for s in args.split.split(",")]
    lbfgs_split = [float(s) for s in args.lbfgs_split.split(",")]
    if len(split) < 2 or not math.isclose(sum(split), 1.0) or len(lbfgs_split) != len(split) or not math.isclose(sum(lbfgs_split), 1.0):
        parser.error("--split and --lbfgs-split need the same number (two or more) of shares adding up to 1")
    results = {}
    with tempfile.TemporaryDirectory() as root:
        for example in args.problems.split(","):
            results[example] = bench(
                PROBLEMS[example], args.adam, args.lbfgs, split, lbfgs_split, Path(root), args.lr,
                args.correction_frequency, args.batch_scale,
            )
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps({k: [vars(r) for r in v] for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
