"""LM inside a correction stage: the dense solve against conjugate gradients, from one parent.

A correction stage's finishing LM steps (``training.then_lm_steps``) use LM's default settings,
so whether they solve densely or by conjugate gradients is decided by ``optimizer.lm_max_dense``'s
default against the correction networks' parameter count (the default 20x3 correction net of a
one-output problem: 2181). This trains one parent (``--adam`` Adam steps, then an LM child of
``--parent-lm`` steps, dense), then the same correction stage (``--correction-adam`` Adam steps
then ``--lm`` LM steps) once per ``--variants`` entry: ``dense`` (the finisher's
``lm_max_dense`` raised above the count) and ``cg`` (lowered below it). The finisher's settings are
the stage's own code path with only ``lm_max_dense`` replaced. Reported per variant: relative L2
error against the exact solution before (the parent) and after the correction, the gain, the
guard's scale, and the CPU seconds per LM step (one torch thread).

    python benchmarks/correction_lm.py [--problem two-frequency-1d] [--adam 250] [--parent-lm 60]
        [--correction-adam 125] [--lm 30] [--variants dense,cg] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import engine.train.stage as stage_module  # noqa: E402
from benchmarks.precision import FINISH, PROBLEMS, Bench, Run  # noqa: E402
from engine.layout import stage_folder  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402
from engine.train.checkpoint import load_checkpoint  # noqa: E402

DENSE = {"dense": 10**6, "cg": 1}  # the finisher's lm_max_dense in each variant


@contextmanager
def finisher_dense_limit(limit: int) -> Iterator[None]:
    """The finishing LM phase's ``lm_max_dense`` set to ``limit`` (its other settings unchanged)."""
    original = stage_module._finishers

    def finishers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        found = original(config)
        return {**found, "lm": {**found["lm"], "lm_max_dense": limit}}

    stage_module._finishers = finishers
    try:
        yield
    finally:
        stage_module._finishers = original


def timed(bench: Bench, stage: str, config: dict[str, Any], parent: str | None, kind: str) -> list[tuple[int, float, float]]:
    """Train ``stage``; per logged step: (step, total loss, CPU seconds of this process when it was logged)."""
    rows: list[tuple[int, float, float]] = []

    def log(batch: list) -> None:
        now = time.process_time()
        rows.extend((step, value, now) for step, _, key, value in batch if key == "total")

    train_stage(StagePlan(bench.project, stage, config, parent=parent, kind=kind, device="cpu"), StageHooks(log=log))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", default="two-frequency-1d", choices=sorted(PROBLEMS))
    parser.add_argument("--adam", type=int, default=250)
    parser.add_argument("--parent-lm", type=int, default=60)
    parser.add_argument("--correction-adam", type=int, default=125)
    parser.add_argument("--lm", type=int, default=30)
    parser.add_argument("--variants", default="dense,cg")
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        bench = Bench(PROBLEMS[args.problem], Path(root), args, hard=False)
        adam = bench.config(f"training.max_steps={args.adam}", f"scheduler.decay_steps={max(1, args.adam // 6)}")
        timed(bench, "s1adam", adam, None, "standard")
        timed(bench, "s1", bench.config(*FINISH["lm"], f"training.max_steps={args.parent_lm}"), "s1adam", "standard")
        parent = bench.measure(Run("parent"), "s1")["relative_l2"]
        print(f"parent ({args.adam} Adam + {args.parent_lm} LM): relative L2 {parent:.3e}", flush=True)
        correction = bench.config(
            f"training.max_steps={args.correction_adam}", f"scheduler.decay_steps={max(1, args.correction_adam // 6)}",
            f"training.then_lm_steps={args.lm}", "training.log_every=1",
        )  # fmt: skip
        print("| variant | LM solve | relative L2 after | gain | guard scale | CPU s per LM step | final loss |")
        print("|---|---|---|---|---|---|---|")
        for variant in args.variants.split(","):
            name = f"c1{variant}"
            with finisher_dense_limit(DENSE[variant]):
                rows = timed(bench, name, correction, "s1", "correction")
            lm_rows = [r for r in rows if r[0] >= args.correction_adam]
            per_step = (lm_rows[-1][2] - lm_rows[0][2]) / max(1, len(lm_rows) - 1)
            after = bench.measure(Run(name), name)["relative_l2"]
            record = load_checkpoint(stage_folder(bench.project, name), name)["correction"]
            print(
                f"| {variant} | {'dense' if variant == 'dense' else 'CG'} | {after:.3e} | {parent / after:.3g}x | "
                f"{record.get('scale')} | {per_step:.2f} | {lm_rows[-1][1]:.2e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
