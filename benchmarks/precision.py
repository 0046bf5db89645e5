"""Precision on error: finishing optimizers and correction stages on the same time budget.

For each problem, in one run, on the CPU, float64, the same network (tanh, ``--width`` x
``--depth`` per network of the problem) and the same Adam phase (``--adam`` steps, Halton points
resampled every step), each run gets ``--budget`` seconds in all, counted on the process's CPU
clock (with one torch thread that is the wall time on an idle machine; on a shared machine the
wall clock would charge each run for the other processes' work). Each stage gets what is left of
its run's budget as its ``training.max_time``, counted on that CPU clock (``StageHooks.clock``):
so a stage's preparation, a correction stage's start (its parent's residual on the FFT grid) and
its guard count, and a stage that runs out of time ends as done where it got to:

- ``Adam + L-BFGS``, ``Adam + LM``, ``Adam + ENGD``: the Adam stage, then a child stage with that
  optimizer on one fixed batch per constraint until the budget is spent;
- ``stage + 2 corrections (<best>)``: the budget split ``--split`` over stage 1 and two
  correction stages (``--kind correction``), each Adam (``--adam`` split the same way) then
  the finishing optimizer whose single run above had the lowest error (stage 1: a child stage;
  a correction stage: its own ``training.then_<lbfgs|lm>_steps``, so that the correction guard,
  which runs at the end of the correction stage, judges the finished correction);
- ``DeepXDE (Adam + L-BFGS)`` when deepxde is installed (``pip install -e '.[bench]'``,
  ``DDE_BACKEND=pytorch``): float64, the same network, as many training points, ``--adam`` Adam
  steps then L-BFGS for the rest of the budget (its L-BFGS has an iteration cap, not a clock).

Reported per run: relative L2 and max error against the exact solution on a fine grid, the final
training loss and the wall time; per stage of the correction chain its error before and after.

``--hard`` sets ``constraints.<C>.hard=true`` on each problem's Dirichlet boundary constraints
(exact boundary values); where this branch does not know that setting the variant is reported
as not run, with the reason.

    python benchmarks/precision.py [--problems precision-1d,two-frequency-1d,poisson-2d,heat-interface]
        [--budget 60] [--adam 2000] [--correction-adam N] [--width 20] [--depth 3] [--split 0.5,0.25,0.25] [--hard]
        [--finishers lbfgs,lm,engd] [--no-corrections] [--no-deepxde] [--deepxde-lbfgs 2000]
        [--threads 1] [--json results.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
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

from engine.config import ConfigError, default_config, set_values  # noqa: E402
from engine.inference import load_stage  # noqa: E402
from engine.layout import stage_folder  # noqa: E402
from engine.problem import load_problem  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402
from engine.train.checkpoint import load_checkpoint  # noqa: E402

Columns = dict[str, np.ndarray]
LINE = {"x": np.linspace(0.0, 1.0, 10001)}
_XY = np.meshgrid(np.linspace(0.0, 1.0, 201), np.linspace(0.0, 1.0, 201))
SQUARE = {"x": _XY[0].ravel(), "y": _XY[1].ravel()}
FINISHERS = ("lbfgs", "lm", "engd")
LABEL = {"lbfgs": "L-BFGS", "lm": "LM", "engd": "ENGD"}
MANY = 10**7  # finishing steps: the budget stops them first
MIN_TIME = 0.001  # a stage's max_time when its run's budget is spent: it trains one step, so that its children can follow
FINISHING_STEPS = {"lbfgs": "then_lbfgs_steps", "lm": "then_lm_steps"}  # a correction stage's own finishing phase


def _heat_exact(c: Columns) -> np.ndarray:
    a, b = 25.0125 / 500.5, -12.5 / 500.5
    return np.where(c["x"] < 0.5, -(c["x"] ** 2) / 20 + a * c["x"], b * (c["x"] - 1))


@dataclass(frozen=True)
class Problem:
    """An example project, its exact solution on a grid, and its Dirichlet constraints (for ``--hard``)."""

    example: str
    output: str
    exact: Callable[[Columns], np.ndarray]
    grid: Columns
    batches: dict[str, int]
    dirichlet: tuple[str, ...] = ()
    deepxde: str | None = None  # why DeepXDE is not run on it, or None when it is


PROBLEMS = {
    "precision-1d": Problem(
        "precision-1d", "u", lambda c: np.sin(2 * np.pi * c["x"]) + 0.1 * np.sin(8 * np.pi * c["x"]), LINE,
        {"poisson": 1000},
    ),
    "two-frequency-1d": Problem(
        "two-frequency-1d", "u", lambda c: np.sin(2 * np.pi * c["x"]) + 0.2 * np.sin(6 * np.pi * c["x"]), LINE,
        {"poisson": 1000, "boundary": 100}, ("boundary",),
    ),
    "poisson-2d": Problem(
        "poisson-2d", "u", lambda c: np.sin(np.pi * c["x"]) * np.sin(np.pi * c["y"]), SQUARE,
        {"poisson": 2000, "walls": 400}, ("walls",),
    ),
    "heat-interface": Problem(
        "heat-interface", "T", _heat_exact, LINE,
        {"metal_diff": 500, "paper_diff": 500, "interface_eq": 10, "interface_flux": 10},
        deepxde="two networks joined by interface conditions: not a single-network DeepXDE PDE without custom code",
    ),
}  # fmt: skip

COMMON = [
    "training.precision=float64", "training.device=cpu", "training.log_every=10", "training.checkpoint_every=1000000",
    "training.resample_every=1", "training.sampler=halton", "scheduler.name=exponential", "scheduler.decay_rate=0.5",
    "optimizer.lr=0.005",
]  # fmt: skip
FINISH = {  # the child stage that finishes: one fixed batch, its optimizer's settings
    "lbfgs": ["optimizer.name=lbfgs", "optimizer.lr=1.0", "training.resample_every=1000000000", "training.log_every=1"],
    "lm": ["optimizer.name=lm", "training.resample_every=1000000000", "training.log_every=1"],
    "engd": ["optimizer.name=engd", "training.resample_every=1000000000", "training.log_every=1"],
}


@dataclass
class Run:
    name: str
    stages: list[str] = field(default_factory=list)
    seconds: float = 0.0  # CPU seconds of this process (the budget's clock)
    wall: float = 0.0  # wall-clock seconds, for the record
    metrics: dict[str, float] = field(default_factory=dict)
    per_stage: list[dict[str, Any]] = field(default_factory=list)  # the correction chain: error after each stage
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    note: str = ""


class Bench:
    """One problem's project, base config and measurements."""

    def __init__(self, problem: Problem, root: Path, args: argparse.Namespace, hard: bool):
        self.problem, self.args = problem, args
        self.project = create_project(root / f"{problem.example}{'-hard' if hard else ''}", example=problem.example)
        self.outline = load_problem(self.project).outline()
        shape = [f"nets.{n}.{k}" for n in self.outline.networks
                 for k in ("activation=tanh", f"layer_size={args.width}", f"nr_layers={args.depth}")]  # fmt: skip
        batches = [f"constraints.{c}.batch_size={b}" for c, b in problem.batches.items()]
        hard_keys = [f"constraints.{c}.hard=true" for c in problem.dirichlet] if hard else []
        self.base = set_values(default_config(self.outline), [*COMMON, *shape, *batches, *hard_keys], self.outline)

    def config(self, *settings: str) -> dict[str, Any]:
        return self.config_from(self.base, *settings)

    def config_from(self, config: dict[str, Any], *settings: str) -> dict[str, Any]:
        return set_values(config, list(settings), self.outline)

    def train(self, run: Run, stage: str, config: dict[str, Any], parent: str | None, kind: str, deadline: float) -> None:
        """Train ``stage`` until it ends or ``deadline`` (CPU time): its ``training.max_time`` is the time left."""
        rows: list = []
        began, wall = time.process_time(), time.perf_counter()
        timed = self.config_from(config, f"training.max_time={max(deadline - began, MIN_TIME):.3f}")
        said = lambda note: print(f"  {self.project.name} {stage}: {note} of CPU time", file=sys.stderr, flush=True)  # noqa: E731
        hooks = StageHooks(log=rows.extend, clock=time.process_time, stopped=said)
        train_stage(StagePlan(self.project, stage, timed, parent=parent, kind=kind, device="cpu"), hooks)
        used = load_checkpoint(stage_folder(self.project, stage), stage)["time_budget"]
        print(f"  {self.project.name} {stage}: {used['used']:.1f} s used of {timed['training']['max_time']:.1f} s "
              f"(guard reserve {used['reserve']:.1f} s)", file=sys.stderr, flush=True)
        run.seconds += time.process_time() - began
        run.wall += time.perf_counter() - wall
        run.curves[stage] = [(step, value) for step, _, key, value in rows if key == "total"]
        run.stages.append(stage)

    def measure(self, run: Run, stage: str) -> dict[str, float]:
        predicted = load_stage(self.project, stage).predict(self.problem.grid)[self.problem.output]
        exact = self.problem.exact(self.problem.grid)
        error = predicted - exact
        curve = run.curves.get(stage) or [(0, math.nan)]
        return {
            "relative_l2": float(np.linalg.norm(error) / np.linalg.norm(exact)),
            "max_error": float(np.abs(error).max()),
            "final_loss": float(curve[-1][1]),
        }


def single(bench: Bench, finisher: str, adam_stage: str, adam_run: Run) -> Run:
    """The shared Adam stage, then a ``finisher`` child for the rest of the budget."""
    run = Run(f"Adam + {LABEL[finisher]}", seconds=adam_run.seconds, wall=adam_run.wall, stages=[adam_stage])
    adam_seconds = adam_run.seconds
    deadline = time.process_time() + bench.args.budget - adam_seconds
    child = bench.config(*FINISH[finisher], f"training.max_steps={MANY}")
    bench.train(run, f"{finisher}1", child, adam_stage, "standard", deadline)
    run.metrics = bench.measure(run, f"{finisher}1")
    return run


def guarded(bench: Bench, stage: str) -> str:
    """What the correction guard and the batch rule decided in the correction stage of chain step ``stage``."""
    for name in (stage, f"{stage}adam"):
        folder = stage_folder(bench.project, name)
        record = load_checkpoint(folder, name).get("correction") if folder.exists() else None
        if record:
            batches = ", ".join(f"{c} {b['parent']} -> {b['used']} (ratio {b['ratio']:.3g})" for c, b in record.get("batch", {}).items())
            return f"; guard: scale {record.get('scale')} by {record.get('guard', {}).get('criterion')}; batch: {batches or '-'}"
    return ""


def corrected(bench: Bench, finisher: str, split: list[float]) -> Run:
    """Stage 1 and two corrections, each Adam then ``finisher``, sharing the budget by ``split``."""
    run = Run(f"stage + {len(split) - 1} corrections ({LABEL[finisher]})")
    parent = None
    for i, share in enumerate(split):
        deadline = time.process_time() + bench.args.budget * share
        steps = bench.args.adam * share if parent is None or bench.args.correction_adam is None else bench.args.correction_adam
        adam = bench.config(f"training.max_steps={max(1, round(steps))}", f"scheduler.decay_steps={max(1, round(steps / 6))}")
        name = f"c{i}"
        if parent is not None and finisher in FINISHING_STEPS:  # the correction stage finishes itself (its guard sees it)
            finishing = bench.config_from(adam, f"training.{FINISHING_STEPS[finisher]}={MANY}")
            bench.train(run, name, finishing, parent, "correction", deadline)
        else:
            bench.train(run, f"{name}adam", adam, parent, "standard" if parent is None else "correction", deadline)
            bench.train(run, name, bench.config(*FINISH[finisher], f"training.max_steps={MANY}"), f"{name}adam", "standard", deadline)
        run.per_stage.append({"stage": name, **bench.measure(run, name)})
        print(f"  {bench.problem.example} {name}: {run.per_stage[-1]}{guarded(bench, name) if parent else ''}", file=sys.stderr, flush=True)
        parent = name
    run.metrics = dict(run.per_stage[-1])
    run.metrics.pop("stage")
    return run


def deepxde_run(problem: Problem, args: argparse.Namespace) -> Run:
    """DeepXDE, float64, the same network and as many points: Adam, then L-BFGS up to the budget's iteration cap."""
    from benchmarks.deepxde_problems import train_deepxde

    run = Run("DeepXDE (Adam + L-BFGS)")
    began, wall = time.process_time(), time.perf_counter()
    predicted, loss = train_deepxde(problem.example, problem.grid, problem.batches, args)
    run.seconds, run.wall = time.process_time() - began, time.perf_counter() - wall
    exact = problem.exact(problem.grid)
    run.metrics = {
        "relative_l2": float(np.linalg.norm(predicted - exact) / np.linalg.norm(exact)),
        "max_error": float(np.abs(predicted - exact).max()),
        "final_loss": loss,
    }
    return run


def bench_problem(problem: Problem, root: Path, args: argparse.Namespace, split: list[float], hard: bool) -> list[Run]:
    variant = " (hard)" if hard else ""
    if hard and not problem.dirichlet:
        return [Run(f"all runs{variant}", note="no Dirichlet boundary constraint to make hard (built into the model)")]
    try:
        bench = Bench(problem, root, args, hard)
    except ConfigError as exc:
        return [Run(f"all runs{variant}", note=f"not run on this branch: {exc}")]
    adam_run = Run("Adam")
    deadline = time.process_time() + args.budget
    adam = bench.config(f"training.max_steps={args.adam}", f"scheduler.decay_steps={max(1, args.adam // 6)}")
    bench.train(adam_run, "adam", adam, None, "standard", deadline)
    finishers = args.finishers.split(",")
    runs = [single(bench, finisher, "adam", adam_run) for finisher in finishers]
    for run in runs:
        run.name += variant
        print(f"  {problem.example} {run.name}: {run.metrics} in {run.seconds:.0f} s", file=sys.stderr, flush=True)
    if args.corrections:
        best = min(zip(finishers, runs), key=lambda pair: pair[1].metrics["relative_l2"])[0]
        chain = corrected(bench, best, split)
        chain.name += variant
        runs.append(chain)
    if not hard and args.deepxde:
        if problem.deepxde:
            runs.append(Run("DeepXDE (Adam + L-BFGS)", note=f"not run: {problem.deepxde}"))
        elif importlib.util.find_spec("deepxde") is None:
            runs.append(Run("DeepXDE (Adam + L-BFGS)", note="not run: deepxde is not installed (pip install -e '.[bench]')"))
        else:
            runs.append(deepxde_run(problem, args))
    return runs


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"torch {torch.__version__}, Python {platform.python_version()}",
        f"Budget per run: {args.budget:g} s of this process's CPU time; Adam phase {args.adam} steps; tanh {args.width}x{args.depth} "
        f"per network; correction chain budget split {args.split}",
        "",
        "| problem | run | relative L2 error | max error | final loss | CPU time (s) | wall time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for example, runs in results.items():
        for run in runs:
            if run.note:
                lines.append(f"| {example} | {run.name} | {run.note} | | | | |")
                continue
            m = run.metrics
            lines.append(
                f"| {example} | {run.name} | {m['relative_l2']:.2e} | {m['max_error']:.2e} | {m['final_loss']:.1e} | "
                f"{run.seconds:.0f} | {run.wall:.0f} |"
            )
    lines += ["", "Correction chains (relative L2 error after each stage; ratio to the stage before):", ""]
    for example, runs in results.items():
        for run in runs:
            if run.per_stage:
                errors = [s["relative_l2"] for s in run.per_stage]
                parts = [f"{errors[0]:.2e}"] + [f"{e:.2e} ({b / e:.2g}x)" for b, e in zip(errors, errors[1:])]
                lines.append(f"- {example} {run.name}: " + " -> ".join(parts))
    lines += ["", "Loss curves (step: total loss):", ""]
    for example, runs in results.items():
        for run in runs:
            for stage, points in run.curves.items():
                if points:
                    picks = sorted({round(i * (len(points) - 1) / 5) for i in range(6)})
                    shown = ", ".join(f"{points[i][0]}: {points[i][1]:.1e}" for i in picks)
                    lines.append(f"- {example} {run.name} {stage}: {shown}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument(
        "--budget", type=float, default=60.0,
        help="seconds per run (Adam phase included), on the process's CPU clock: the wall time of one thread on an "
        "idle machine, and still a fair budget on a shared one",
    )
    parser.add_argument("--adam", type=int, default=2000, help="Adam steps before the finishing optimizer")
    parser.add_argument("--width", type=int, default=20, help="neurons per hidden layer of every network")
    parser.add_argument("--depth", type=int, default=3, help="hidden layers of every network")
    parser.add_argument(
        "--correction-adam", type=int, help="Adam steps of each correction stage before its finisher (default: --adam "
        "split like the budget); a correction starts at its parent's model, so its finisher can take over early",
    )
    parser.add_argument("--split", default="0.5,0.25,0.25", help="budget (and Adam steps) of stage 1 and each correction")
    parser.add_argument("--deepxde-lbfgs", type=int, default=2000, help="DeepXDE's L-BFGS iteration cap")
    parser.add_argument("--finishers", default=",".join(FINISHERS), help="finishing optimizers to compare")
    parser.add_argument("--no-corrections", dest="corrections", action="store_false", help="skip the correction chain")
    parser.add_argument("--no-deepxde", dest="deepxde", action="store_false", help="skip DeepXDE")
    parser.add_argument("--hard", action="store_true", help="also run with constraints.<C>.hard=true on Dirichlet constraints")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady timings on a shared CPU)")
    parser.add_argument("--no-soft", dest="soft", action="store_false", help="with --hard: only the hard runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    split = [float(s) for s in args.split.split(",")]
    if len(split) < 2 or not math.isclose(sum(split), 1.0):
        parser.error("--split needs two or more shares adding up to 1")
    if not set(args.finishers.split(",")) <= set(FINISHERS):
        parser.error(f"--finishers: choose from {', '.join(FINISHERS)}")
    unknown = [p for p in args.problems.split(",") if p not in PROBLEMS]
    if unknown:
        parser.error(f"unknown problem(s) {unknown}: choose from {', '.join(PROBLEMS)}")
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory() as root:
        for example in args.problems.split(","):
            results[example] = bench_problem(PROBLEMS[example], Path(root), args, split, hard=False) if args.soft else []
            if args.hard:
                results[example] += bench_problem(PROBLEMS[example], Path(root), args, split, hard=True)
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps({k: [vars(r) for r in v] for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
