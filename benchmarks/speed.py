"""Training speed of mtc's derivative paths against a hand-written loop and DeepXDE (issue 15).

Problems (exact solutions known; network 64 x 3 tanh, Xavier init, Adam lr 1e-3, fixed points):
- hello-world: u'' + 1 = 0 on [0, 1], u(0) = u(1) = 0; 1000 interior + 2 boundary points;
- poisson-2d: -laplace(u) = 2 pi^2 sin(pi x) sin(pi y), u = 0 on the unit square's edges; 2000 + 400;
- heat-2d: u_t = 0.1 laplace(u) on the unit square x [0, 1], u = 0 on the edges,
  u(x, y, 0) = sin(pi x) sin(pi y); 4000 interior + 800 edge + 800 initial points.

Variants: mtc (forward derivatives, torch.compile), mtc (nested autograd), a hand-written torch
loop (nested autograd, first derivatives from one backward pass of the stacked input, each second
derivative from one more), DeepXDE (pytorch backend, when installed). Each (problem, precision)
is one child process; inside it, rounds alternate the variants and the thread counts, so ratios
compare runs taken side by side. Steps/s after WARMUP steps (a compile warm-up is never counted);
relative L2 error against the exact solution after the same number of steps. Then: steps/s
against batch size (poisson-2d, float32, one thread, 1k-64k points; docs/img/speed_batch.png) and
the worker (a real `mtc worker` process: SQLite, heartbeats, log_every=10) against the in-process
trainer, rounds alternating, with the CPU share its row writes and heartbeats took by its own
account (the stage log's bookkeeping line).

    OMP_NUM_THREADS=1 python benchmarks/speed.py [--steps 300] [--rounds 2] [--threads 1 2]
        [--only cells sweep worker] [--sweep-points 1000 4000 16000 64000] [--worker-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("DDE_BACKEND", "pytorch")

from engine.config import default_config, set_values  # noqa: E402
from engine.inference import load_stage  # noqa: E402
from engine.problem import load_problem  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.train import StageHooks, StagePlan, train_stage  # noqa: E402

WARMUP = 10
WIDTH, DEPTH = 64, 3
VARIANTS = ("mtc forward+compile", "mtc autograd", "hand-written torch", "DeepXDE")
HEAT = """from cfg import *
[x, y, t], [u] = p.add_neural_network(name="NN", inputs=["x", "y", "t"], outputs=["u"])
square = p.Rectangle("square", (0, 0), (1, 1))
interior = p.add_interior_subdomain("interior", geom=square, params={t: (0, 1)})
initial = p.add_interior_subdomain("initial", geom=square, params={t: (0, 0)})
walls = p.add_boundary_subdomain("walls", geom=square, params={t: (0, 1)})
p.add_constraint("heat", enforce(equation=Eq(u.diff(t), 0.1 * (u.diff(x, 2) + u.diff(y, 2))), on_domain=interior))
p.add_constraint("initial", enforce(equation=Eq(u, sin(pi * x) * sin(pi * y)), on_domain=initial))
p.add_constraint("walls", enforce(equation=Eq(u, 0), on_domain=walls))
p.set_reference(u=exp(-0.1 * 2 * pi**2 * t) * sin(pi * x) * sin(pi * y))
"""


def exact(problem: str, pts: np.ndarray) -> np.ndarray:
    """The exact solution at (n, d) points."""
    if problem == "hello-world":
        return pts[:, 0] * (1 - pts[:, 0]) / 2
    wave = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    return wave if problem == "poisson-2d" else wave * np.exp(-0.2 * np.pi**2 * pts[:, 2])


DIMS = {"hello-world": 1, "poisson-2d": 2, "heat-2d": 3}
COUNTS = {"hello-world": (1000, 2), "poisson-2d": (2000, 400), "heat-2d": (4000, 800, 800)}


def scaled(count: int, scale: float) -> int:
    """A point count of COUNTS times ``scale`` (the batch-size sweep), at least one point."""
    return max(1, round(count * scale))


def test_points(problem: str) -> np.ndarray:
    return np.random.default_rng(7).uniform(0, 1, (4000, DIMS[problem]))


def relative_error(problem: str, predict: Callable[[np.ndarray], np.ndarray]) -> float:
    pts = test_points(problem)
    truth = exact(problem, pts)
    return float(np.linalg.norm(predict(pts) - truth) / np.linalg.norm(truth))


def rate(stamps: list[tuple[int, float]]) -> float:
    """Steps per second between the first stamp at or after WARMUP and the last one."""
    stamps = sorted(s for s in stamps if s[0] >= WARMUP)
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    return (s1 - s0) / (t1 - t0)


# -- mtc -----------------------------------------------------------------------------------


def mtc_project(problem: str, scale: float = 1) -> tuple[Path, list[str]]:
    """A project for ``problem`` and the settings giving the benchmark's network and fixed points."""
    folder = Path(tempfile.mkdtemp()) / problem
    if problem == "heat-2d":
        create_project(folder)
        (folder / "problem.py").write_text(HEAT)
    else:
        create_project(folder, example=problem)
    names = list(load_problem(folder).constraints)
    counts = dict(zip(names, COUNTS[problem]))
    settings = [f"nets.NN.layer_size={WIDTH}", f"nets.NN.nr_layers={DEPTH}", "nets.NN.activation=tanh",
                "scheduler.name=constant", "training.checkpoint_every=1000000", "training.log_every=10"]  # fmt: skip
    settings += [f"constraints.{n}.batch_size={scaled(c, scale)}" for n, c in counts.items()]
    return folder, settings


def mtc(folder: Path, settings: list[str], steps: int, dtype: str, derivatives: str, name: str) -> dict[str, float]:
    problem = load_problem(folder)
    assignments = [*settings, f"training.max_steps={steps}", f"training.resample_every={steps}", f"training.precision={dtype}",
                   f"training.derivatives={derivatives}", f"training.compile={'on' if derivatives == 'forward' else 'off'}"]  # fmt: skip
    config = set_values(default_config(problem.outline()), assignments, problem.outline())
    rows: list = []
    train_stage(StagePlan(folder, name, config, device="cpu"), StageHooks(log=rows.extend))
    model = load_stage(folder, name, problem=problem)
    inputs = problem.networks["NN"].inputs

    def predict(pts: np.ndarray) -> np.ndarray:
        return model.predict({v: pts[:, i] for i, v in enumerate(inputs)})["u"]

    stamps = [(s, t) for s, t, key, _ in rows if key == "total"]
    return {"steps/s": rate(stamps), "error": relative_error(folder.name, predict)}


# -- hand-written -------------------------------------------------------------------------


def network(d: int, dtype: torch.dtype) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    size = d
    for _ in range(DEPTH):
        layers += [torch.nn.Linear(size, WIDTH, dtype=dtype), torch.nn.Tanh()]
        size = WIDTH
    layers.append(torch.nn.Linear(size, 1, dtype=dtype))
    for layer in layers[::2]:
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    return torch.nn.Sequential(*layers)


def hand_points(problem: str, dtype: torch.dtype, scale: float = 1) -> list[torch.Tensor]:
    """Interior points, then boundary (and initial) points, drawn once."""
    g = torch.Generator().manual_seed(0)
    n = [scaled(c, scale) for c in COUNTS[problem]]
    d = DIMS[problem]
    inner = torch.rand(n[0], d, generator=g, dtype=dtype)
    if problem == "hello-world":
        return [inner, torch.tensor([[0.0], [1.0]], dtype=dtype)]
    edge = torch.rand(n[1], d, generator=g, dtype=dtype)
    side = torch.randint(0, 4, (n[1],), generator=g)
    edge[:, 0] = torch.where(side < 2, side.to(dtype), edge[:, 0])
    edge[:, 1] = torch.where(side >= 2, (side - 2).to(dtype), edge[:, 1])
    if problem == "poisson-2d":
        return [inner, edge]
    start = torch.rand(n[2], d, generator=g, dtype=dtype)
    start[:, 2] = 0
    return [inner, edge, start]


def hand_loss(problem: str, net: torch.nn.Module, pts: list[torch.Tensor]) -> torch.Tensor:
    x = pts[0].requires_grad_(True)
    u = net(x)
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    dims = 1 if problem == "hello-world" else 2
    second = [torch.autograd.grad(du[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(dims)]
    laplace = sum(second)
    if problem == "hello-world":
        residual = laplace + 1
    elif problem == "poisson-2d":
        residual = -laplace - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    else:
        residual = du[:, 2] - 0.1 * laplace
    loss = residual.square().mean() + net(pts[1]).square().mean()
    if problem == "heat-2d":
        start = pts[2]
        loss = loss + (net(start)[:, 0] - torch.sin(math.pi * start[:, 0]) * torch.sin(math.pi * start[:, 1])).square().mean()
    return loss


def hand_written(problem: str, steps: int, dtype: torch.dtype, scale: float = 1) -> dict[str, float]:
    torch.manual_seed(0)
    net = network(DIMS[problem], dtype)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    pts = hand_points(problem, dtype, scale)
    stamps, start = [], time.perf_counter()
    for step in range(steps):
        loss = hand_loss(problem, net, pts)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 10 == 0 or step == steps - 1:
            loss.item()
            stamps.append((step, time.perf_counter() - start))
    with torch.no_grad():
        error = relative_error(problem, lambda p: net(torch.as_tensor(p, dtype=dtype)).numpy()[:, 0])
    return {"steps/s": rate(stamps), "error": error}


# -- DeepXDE ------------------------------------------------------------------------------


def deepxde(problem: str, steps: int, dtype: str, scale: float = 1) -> dict[str, float] | None:
    try:
        import deepxde as dde
    except ImportError:
        return None
    dde.config.set_default_float(dtype)
    dde.config.set_random_seed(0)
    n = [scaled(c, scale) for c in COUNTS[problem]]
    zero = dde.icbc.DirichletBC
    if problem == "hello-world":
        geom = dde.geometry.Interval(0.0, 1.0)
        data = dde.data.PDE(geom, lambda x, y: dde.grad.hessian(y, x) + 1, [zero(geom, lambda x: 0.0, lambda x, on: on)],
                            num_domain=n[0], num_boundary=n[1])  # fmt: skip
    elif problem == "poisson-2d":
        geom = dde.geometry.Rectangle([0.0, 0.0], [1.0, 1.0])

        def pde(x, y):  # noqa: ANN001, ANN202
            laplace = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -laplace - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0:1]) * torch.sin(math.pi * x[:, 1:2])

        data = dde.data.PDE(geom, pde, [zero(geom, lambda x: 0.0, lambda x, on: on)], num_domain=n[0], num_boundary=n[1])
    else:
        geom = dde.geometry.GeometryXTime(dde.geometry.Rectangle([0.0, 0.0], [1.0, 1.0]), dde.geometry.TimeDomain(0.0, 1.0))

        def pde(x, y):  # noqa: ANN001, ANN202
            laplace = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return dde.grad.jacobian(y, x, i=0, j=2) - 0.1 * laplace

        initial = dde.icbc.IC(geom, lambda x: np.sin(np.pi * x[:, 0:1]) * np.sin(np.pi * x[:, 1:2]), lambda x, on: on)
        data = dde.data.TimePDE(geom, pde, [zero(geom, lambda x: 0.0, lambda x, on: on), initial],
                                num_domain=n[0], num_boundary=n[1], num_initial=n[2])  # fmt: skip
    model = dde.Model(data, dde.nn.FNN([DIMS[problem]] + [WIDTH] * DEPTH + [1], "tanh", "Glorot uniform"))
    model.compile("adam", lr=1e-3)
    model.train(iterations=WARMUP, display_every=10**9, verbose=0)
    start = time.perf_counter()
    model.train(iterations=steps - WARMUP, display_every=10**9, verbose=0)
    seconds = time.perf_counter() - start
    error = relative_error(problem, lambda p: model.predict(p.astype(np.float32 if dtype == "float32" else np.float64))[:, 0])
    return {"steps/s": (steps - WARMUP) / seconds, "error": error}


# -- one child: a (problem, precision) cell, rounds alternating variants and threads --------


def cell(problem: str, dtype: str, steps: int, rounds: int, threads: list[int]) -> list[dict[str, Any]]:
    folder, settings = mtc_project(problem)
    torch_dtype = getattr(torch, dtype)
    results = []
    for round_ in range(rounds):
        for count in threads:
            torch.set_num_threads(count)
            measured = {
                VARIANTS[0]: mtc(folder, settings, steps, dtype, "forward", f"f{round_}t{count}"),
                VARIANTS[1]: mtc(folder, settings, steps, dtype, "autograd", f"a{round_}t{count}"),
                VARIANTS[2]: hand_written(problem, steps, torch_dtype),
                VARIANTS[3]: deepxde(problem, steps, dtype),
            }
            for variant, value in measured.items():
                if value is not None:
                    results.append({"problem": problem, "dtype": dtype, "threads": count, "round": round_, "variant": variant, **value})
            print(f"{problem} {dtype} {count} thread(s) round {round_ + 1}: "
                  + ", ".join(f"{k} {v['steps/s']:.1f} ({v['error']:.2e})" for k, v in measured.items() if v), file=sys.stderr)  # fmt: skip
    return results


def sweep(steps: int, points: list[int]) -> list[dict[str, Any]]:
    """Steps/s against batch size on poisson-2d (float32, one thread): ``points`` per step, split 5:1 interior:edges."""
    torch.set_num_threads(1)
    results = []
    for total in points:
        scale = total / sum(COUNTS["poisson-2d"])
        folder, settings = mtc_project("poisson-2d", scale)
        measured = {
            VARIANTS[0]: mtc(folder, settings, steps, "float32", "forward", f"f{total}"),
            VARIANTS[1]: mtc(folder, settings, steps, "float32", "autograd", f"a{total}"),
            VARIANTS[2]: hand_written("poisson-2d", steps, torch.float32, scale),
            VARIANTS[3]: deepxde("poisson-2d", steps, "float32", scale),
        }
        for variant, value in measured.items():
            if value is not None:
                results.append({"points": total, "variant": variant, **value})
        print(f"sweep {total} points: " + ", ".join(f"{k} {v['steps/s']:.2f}" for k, v in measured.items() if v), file=sys.stderr)
    return results


BOOKKEEPING = re.compile(r"bookkeeping: .*\(([\d.]+)% of the attempt")


def worker_ratio(steps: int, rounds: int) -> list[dict[str, float]]:
    """poisson-2d, forward+compile, float32, one thread: a real `mtc worker` process (SQLite, heartbeats, loss rows
    every 10 steps) against the in-process trainer, rounds alternating; with the worker's own account of the CPU
    its row writes and heartbeats took (its stage log's bookkeeping line)."""
    from engine_overhead import mtc_trainer, mtc_worker

    from engine.layout import LOG_FILE, stage_folder
    from engine.stages import StageBook

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # the worker process too
    folder, settings = mtc_project("poisson-2d")
    with StageBook(folder) as book:
        book.init_conf()
    settings = [*settings, f"training.max_steps={steps}", f"training.resample_every={steps}", "training.compile=on",
                "training.derivatives=forward"]  # fmt: skip
    results = []
    for round_ in range(rounds):
        trainer = mtc_trainer(folder, settings, "cpu")[0]
        worker = mtc_worker(folder, settings, "cpu", f"w{round_}")[0]
        log = (stage_folder(folder, f"w{round_}") / LOG_FILE).read_text()
        share = float(BOOKKEEPING.findall(log)[-1])
        results.append({"trainer": trainer, "worker": worker, "bookkeeping %": share})
        print(f"worker round {round_ + 1}: trainer {trainer:.1f}, worker {worker:.1f} steps/s ({worker / trainer:.3f}), "
              f"bookkeeping {share:.2f}% of the worker's attempt", file=sys.stderr)  # fmt: skip
    return results


# -- the parent: children, tables, plot ------------------------------------------------------


def child(args: list[str]) -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, __file__, "--child", *args], env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| problem | precision | threads | variant | steps/s (median) | x DeepXDE | x hand-written | rel. L2 error |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    keys = sorted({(r["problem"], r["dtype"], r["threads"]) for r in results}, key=lambda k: (list(DIMS).index(k[0]), k[1], k[2]))
    for key in keys:
        rows = [r for r in results if (r["problem"], r["dtype"], r["threads"]) == key]
        median = {v: statistics.median(r["steps/s"] for r in rows if r["variant"] == v) for v in VARIANTS if any(r["variant"] == v for r in rows)}
        for variant, value in median.items():
            error = statistics.median(r["error"] for r in rows if r["variant"] == variant)
            dde = f"{value / median['DeepXDE']:.2f}" if "DeepXDE" in median else "-"
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {variant} | {value:.1f} | {dde} | {value / median[VARIANTS[2]]:.2f} | {error:.2e} |")
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant in VARIANTS:
        rows = sorted((r["points"], r["steps/s"]) for r in results if r["variant"] == variant)
        if rows:
            ax.plot(*zip(*rows), marker="o", label=variant)
    ax.set(xscale="log", yscale="log", xlabel="collocation points per step (poisson-2d)", ylabel="steps/s",
           title="CPU, one thread, float32, 64x3 tanh")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--problems", nargs="+", default=list(DIMS))
    parser.add_argument("--precisions", nargs="+", default=["float32", "float64"])
    parser.add_argument("--sweep-points", type=int, nargs="+", default=[1000, 4000, 16000, 64000], help="points per step")
    parser.add_argument("--sweep-steps", type=int, default=30)
    parser.add_argument("--worker-steps", type=int, default=300)
    parser.add_argument("--worker-rounds", type=int, default=3)
    parser.add_argument("--only", choices=["cells", "sweep", "worker"], nargs="+", default=["cells", "sweep", "worker"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        out = (cell(rest[0], rest[1], args.steps, args.rounds, args.threads) if kind == "cell"
               else sweep(args.sweep_steps, args.sweep_points) if kind == "sweep"
               else worker_ratio(args.worker_steps, args.worker_rounds))  # fmt: skip
        print(json.dumps(out))
        return
    common = ["--steps", str(args.steps), "--rounds", str(args.rounds), "--threads", *map(str, args.threads)]
    print(f"torch {torch.__version__}, CPU, {args.steps} steps, {args.rounds} rounds, threads {args.threads}\n")
    results = []
    for problem in args.problems if "cells" in args.only else []:
        for precision in args.precisions:
            results += child(["cell", problem, precision, *common])
            print(table(results), flush=True)  # so far
    if "sweep" in args.only:
        swept = child(["sweep", "--sweep-steps", str(args.sweep_steps), "--sweep-points", *map(str, args.sweep_points)])
        (REPO / "docs" / "img").mkdir(exist_ok=True)
        plot(swept, REPO / "docs" / "img" / "speed_batch.png")
        print("\n| points | " + " | ".join(VARIANTS) + " | rel. L2 error (same order) |\n|---|---|---|---|---|---|")
        for points in sorted({r["points"] for r in swept}):
            found = [next((r for r in swept if r["points"] == points and r["variant"] == v), None) for v in VARIANTS]
            rates = [f"{r['steps/s']:.2f}" if r else "-" for r in found]
            errors = " / ".join(f"{r['error']:.2e}" if r else "-" for r in found)
            print(f"| {points} | " + " | ".join(rates) + f" | {errors} |")
    if "worker" in args.only:
        rounds = child(["worker", "--worker-steps", str(args.worker_steps), "--worker-rounds", str(args.worker_rounds)])
        ratios = [r["worker"] / r["trainer"] for r in rounds]
        print(f"\nworker / trainer by round: {', '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f}; "
              "bookkeeping (worker's own account): " + ", ".join(f"{r['bookkeeping %']:.2f}%" for r in rounds) + " of its attempt")


if __name__ == "__main__":
    main()
