"""The damped Gauss-Newton solve of one LM step: dense (Cholesky of J^T J) against conjugate gradients.

Both solves share the Jacobian (``rows`` x ``P``, ``rows = points_per_parameter x P`` as the LM
optimizer draws it); what differs is the solve. Dense: ``J^T J`` once per step (``rows P^2``
flops, matrix-matrix), then a Cholesky factorisation per trial damping (``P^3 / 3``). CG: per
trial, ``cg_max_iter`` products ``J^T (J v)`` (each streams the Jacobian from memory twice). A
PINN's Gauss-Newton system is ill-conditioned, so CG runs its iteration cap; here it is made to
(rtol 0). Reported per ``P``: CPU seconds of the dense step with one and with ``--tries`` trials,
of CG with one and ``--tries`` trials, and the memory each needs beyond the Jacobian.

    python benchmarks/lm_solve.py [--sizes 1000,2000,3000,4000] [--points-per-parameter 4]
        [--cg-max-iter 200] [--tries 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.train.optim.linear_solve import cg_solve, dense_solve  # noqa: E402


def cpu_seconds(work) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def solve_costs(size: int, rows: int, cg_max_iter: int, generator: torch.Generator) -> tuple[float, float, float]:
    """CPU seconds of ``J^T J``, of one dense solve with it, and of one CG solve, for a random ``rows x size`` J."""
    jac = torch.randn(rows, size, dtype=torch.float64, generator=generator)
    grad = torch.randn(size, dtype=torch.float64, generator=generator)
    began = time.process_time()
    gram = jac.T @ jac
    gram_seconds = time.process_time() - began
    solve = cpu_seconds(lambda: dense_solve(gram, grad, 1e-3))
    return gram_seconds, solve, cpu_seconds(lambda: cg_solve(jac, grad, 1e-3, cg_max_iter, rtol=0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,3000,4000")
    parser.add_argument("--points-per-parameter", type=float, default=4.0)
    parser.add_argument("--cg-max-iter", type=int, default=200)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{torch.get_num_threads()} torch thread(s), float64; rows = {args.points_per_parameter:g} x P; "
          f"CG {args.cg_max_iter} iterations per trial")  # fmt: skip
    print(f"| P | rows | dense: J^T J | dense: one Cholesky solve | dense, {args.tries} trials | CG, one trial | "
          f"CG, {args.tries} trials | dense / CG ({args.tries} trials) | J^T J memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    generator = torch.Generator().manual_seed(0)
    for size in (int(s) for s in args.sizes.split(",")):
        rows = int(args.points_per_parameter * size)
        gram, solve, cg = solve_costs(size, rows, args.cg_max_iter, generator)
        dense_step, cg_step = gram + args.tries * solve, args.tries * cg
        print(f"| {size} | {rows} | {gram:.2f} | {solve:.2f} | {dense_step:.2f} | {cg:.2f} | {cg_step:.2f} | "
              f"{dense_step / cg_step:.2f} | {size * size * 8 / 2**20:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
