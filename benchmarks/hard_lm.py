"""Adam + LM with hard against soft boundary values, on a fixed number of steps (not a clock).

The same Adam phase as ``benchmarks/precision.py`` (tanh 20x3, Halton points resampled every
step, lr 5e-3 halved every sixth), then an LM child of ``--lm`` steps on one fixed batch, for
each problem with soft and with hard (``constraints.<C>.hard=true``) Dirichlet boundaries.
Reports the relative L2 error after Adam and after LM, and LM's loss curve.

    python benchmarks/hard_lm.py [--problems two-frequency-1d,poisson-2d] [--adam 500] [--lm 150]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.precision import FINISH, PROBLEMS, Bench, Run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default="two-frequency-1d,poisson-2d")
    parser.add_argument("--adam", type=int, default=500)
    parser.add_argument("--lm", type=int, default=150)
    parser.add_argument("--variants", default="soft,hard")
    args = parser.parse_args()
    args.width, args.depth = 20, 3
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        for example in args.problems.split(","):
            for variant in args.variants.split(","):
                bench = Bench(PROBLEMS[example], Path(root), args, hard=variant == "hard")
                run = Run(variant)
                adam = bench.config(f"training.max_steps={args.adam}", f"scheduler.decay_steps={max(1, args.adam // 6)}")
                bench.train(run, "adam", adam, None, "standard", math.inf)
                errors = [f"Adam {bench.measure(run, 'adam')['relative_l2']:.2e}"]
                bench.train(run, "lm", bench.config(*FINISH["lm"], f"training.max_steps={args.lm}"), "adam", "standard", math.inf)
                curve = run.curves["lm"]
                picks = sorted({round(i * (len(curve) - 1) / 4) for i in range(5)})
                errors.append(f"LM {args.lm}: {bench.measure(run, 'lm')['relative_l2']:.2e}; LM loss "
                              + ", ".join(f"{curve[i][0]}: {curve[i][1]:.1e}" for i in picks))  # fmt: skip
                print(f"{example} {variant}: " + ", ".join(errors) + f"  [{run.seconds:.0f} CPU-s]", flush=True)


if __name__ == "__main__":
    main()
