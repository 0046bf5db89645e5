"""Training speed of mtc against a minimal hand-written torch loop on the same problem and network.

Problem: poisson-2d (-laplace(u) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0 on the
boundary); network: fully connected, silu, the same width/depth; Adam with MTC's exponential
decay; 1000 interior + 200 boundary points resampled every step; float32 on the CPU (or CUDA).

Variants, all measured in this one run (rounds interleaved, median of rounds):
- hand-written: one nn.Sequential, torch.rand sampling, nested autograd, no logging;
- mtc trainer: ``engine.train.train_stage`` in-process (problem language, compiled residuals,
  geometry sampler), loss rows every 10 steps;
- mtc worker: a real ``mtc worker`` process on the project's SQLite database (heartbeats,
  claim-guarded batched loss rows every 10 steps);
- mtc worker, log_every=1: the same, logging every step (cost of logging).

Last, the CPU time of one flush of loss rows as a worker writes them (200 rows under its claim).

Steps/s are taken between step WARMUP and the last step from the loop's own wall clock; for the
two in-process variants also from the thread's CPU time (``time.thread_time``), which other jobs
on a shared machine disturb far less than the wall clock.

    python benchmarks/engine_overhead.py [--steps 400] [--rounds 3] [--width 64] [--depth 4]
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.config import set_values  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.stages import StageBook  # noqa: E402
from engine.store import open_storage  # noqa: E402
from engine.store.queue import claim_next, record_rows  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402
from engine.stages.launchers import worker_command  # noqa: E402
from engine.stages.runs import submit  # noqa: E402

WARMUP = 20
HAND = "hand-written torch loop"


def stage_settings(steps: int, width: int, depth: int, log_every: int) -> list[str]:
    return [
        f"training.max_steps={steps}", f"training.log_every={log_every}", "training.checkpoint_every=100000",
        f"nets.NN.layer_size={width}", f"nets.NN.nr_layers={depth}", "nets.NN.activation=silu",
        "constraints.poisson.batch_size=1000", "constraints.walls.batch_size=200",
    ]  # fmt: skip


def rate(rows: list[tuple[int, float]]) -> float:
    """Steps per second between the first logged step >= WARMUP and the last one."""
    rows = sorted(r for r in rows if r[0] >= WARMUP)
    (s0, t0), (s1, t1) = rows[0], rows[-1]
    return (s1 - s0) / (t1 - t0)


Rates = tuple[float, float | None]
"""Steps/s from the wall clock and from the thread's CPU time (None where not measured)."""


def hand_written(steps: int, width: int, depth: int, device: torch.device) -> Rates:
    """The minimal loop a researcher would write for this problem."""
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    size = 2
    for _ in range(depth):
        layers += [torch.nn.Linear(size, width), torch.nn.SiLU()]
        size = width
    net = torch.nn.Sequential(*layers, torch.nn.Linear(size, 1)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.95 ** (s / 200))
    stamps, cpu = [], []
    start = time.perf_counter()
    for step in range(steps):
        xy = torch.rand(1000, 2, device=device, requires_grad=True)
        u = net(xy)
        (du,) = torch.autograd.grad(u.sum(), xy, create_graph=True)
        (ddx,) = torch.autograd.grad(du[:, 0].sum(), xy, create_graph=True)
        (ddy,) = torch.autograd.grad(du[:, 1].sum(), xy, create_graph=True)
        x, y = xy[:, 0], xy[:, 1]
        source = 2 * math.pi**2 * torch.sin(math.pi * x) * torch.sin(math.pi * y)
        pde = (-(ddx[:, 0] + ddy[:, 1]) - source).square().mean()
        t = torch.rand(200, device=device)
        side = torch.randint(0, 4, (200,), device=device)
        edge = torch.stack([torch.where(side < 2, side.float(), t), torch.where(side < 2, t, side.float() - 2)], 1)
        walls = net(edge).square().mean()
        loss = pde + walls
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % 10 == 0 or step == steps - 1:
            loss.item()  # what logging the loss would cost: one sync
            stamps.append((step, time.perf_counter() - start))
            cpu.append((step, time.thread_time()))
    return rate(stamps), rate(cpu)


def mtc_trainer(project: Path, settings: list[str], device: str) -> Rates:
    with StageBook(project) as book:
        config = set_values(book.stage("stage1").config, settings, book.problem()[0])
    rows: list = []
    cpu: list[tuple[int, float]] = []

    def log(batch: list) -> None:
        cpu.append((batch[0][0], time.thread_time()))
        rows.extend(batch)

    train_stage(StagePlan(project, "bench", config, device=device), StageHooks(log=log))
    return rate([(s, t) for s, t, key, _ in rows if key == "total"]), rate(cpu)


def mtc_worker(project: Path, settings: list[str], device: str, name: str) -> Rates:
    with StageBook(project) as book:
        book.new_branch(name, source="stage1", assignments=settings)
        submit(book, [name])
    subprocess.run([*worker_command(project, device)], check=True, stdout=subprocess.DEVNULL)
    with open_storage(project) as storage:
        rows = [(r["step"], r["wall_time"]) for r in storage.loss_rows(name, keys=["total"])]
    return rate(rows), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    project = create_project(Path(tempfile.mkdtemp()) / "bench", example="poisson-2d")
    with StageBook(project) as book:
        book.init_conf()
    results: dict[str, list[Rates]] = {}
    for round_ in range(args.rounds):
        base = stage_settings(args.steps, args.width, args.depth, 10)
        every = stage_settings(args.steps, args.width, args.depth, 1)
        measured = {
            HAND: hand_written(args.steps, args.width, args.depth, torch.device(args.device)),
            "mtc trainer (in-process)": mtc_trainer(project, base, args.device),
            "mtc worker (SQLite, log_every=10)": mtc_worker(project, base, args.device, f"w{round_}"),
            "mtc worker (SQLite, log_every=1)": mtc_worker(project, every, args.device, f"e{round_}"),
        }
        for key, value in measured.items():
            results.setdefault(key, []).append(value)
        print(f"round {round_ + 1}: " + ", ".join(f"{k}: {v[0]:.1f}" for k, v in measured.items()), file=sys.stderr)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU ({torch.get_num_threads()} threads)"
    print(f"poisson-2d, {args.width}x{args.depth} silu, batch 1000+200, {args.steps} steps x {args.rounds} rounds, "
          f"torch {torch.__version__}, {device}\n")  # fmt: skip
    print(table(results))
    print(f"\nwriting {FLUSH_ROWS} loss rows under a claim (one flush): {flush_cost(project):.2f} ms of CPU")



FLUSH_ROWS = 200
"""Rows per flush in the cost measurement: one second of log_every=1 at ~50 steps/s, four keys a step."""


def flush_cost(project: Path, flushes: int = 20) -> float:
    """CPU milliseconds of one ``record_rows`` call writing FLUSH_ROWS rows, as a worker does each second."""
    with StageBook(project) as book:
        book.new_branch("flush", source="stage1")
        submit(book, ["flush"])
        claim = claim_next(book.storage, "bench", 0, "cpu")
        assert claim is not None and claim.stage == "flush"
        spent = 0.0
        for batch in range(flushes):
            first = batch * FLUSH_ROWS // 4
            rows = [(step, 0.0, key, 1.0) for step in range(first, first + FLUSH_ROWS // 4) for key in ("total", "a", "b", "lr")]
            start = time.thread_time()
            record_rows(book.storage, claim, rows)
            spent += time.thread_time() - start
    return spent / flushes * 1e3


def table(results: dict[str, list[Rates]]) -> str:
    """Median steps/s of each variant and its ratio to the hand-written loop, by wall clock and by CPU time."""
    lines = [
        "| variant | steps/s, wall (median) | relative | steps/s, CPU time (median) | relative |",
        "|---|---|---|---|---|",
    ]
    reference = [statistics.median(r[i] for r in results[HAND] if r[i] is not None) for i in (0, 1)]
    for key, values in results.items():
        cells = [f"{key}"]
        for i in (0, 1):
            measured = [v[i] for v in values if v[i] is not None]
            if measured:
                median = statistics.median(measured)
                cells += [f"{median:.1f}", f"{median / reference[i]:.3f}"]
            else:
                cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
