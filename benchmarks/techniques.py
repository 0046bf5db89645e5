"""Training techniques against the plain default at the same step budget (issue 11).

Each problem is trained once with mtc's defaults (only the network size, the batch sizes and the
step budget are set: ``--width`` x ``--depth`` per network, ``--steps`` Adam steps, on the CPU)
and once per *variant*, a list of settings layered on the same base. A variant is written
``NAME:key=value,key=value``; ``<NET>`` in a key stands for every network of the problem
(``kan:nets.<NET>.arch=kan``). A variant whose key (or choice) this branch's schema lacks is
reported as not run, with the reason, so the default list names every technique of the issue.
A variant named ``cascade...`` trains as seed 003's multilevel ladder at the same total budget: a
root ``factor**levels`` times narrower than ``--width`` and ``levels`` widening children made as
``mtc stage cascade`` makes them (``--cascade-levels``, factor 2), the steps split evenly.

Problems: ``poisson-2d`` and ``heat-interface`` (shipped examples), ``high-frequency-1d``
(u'' = f on [0, 1], u = sin(2 pi x) + 0.1 sin(20 pi x)) and ``helmholtz-2d`` (u_xx + u_yy + u = q
on [-1, 1]^2, u = sin(pi x) sin(4 pi y), the problem of Wang, Teng & Perdikaris 2021), the last
two defined here. Reported per run: the relative L2 error against the exact solution on a fine
grid, its ratio to the default's, the steps done (plateau stops end early), wall time, steps/s and
the parameter count. On poisson-2d, high-frequency-1d and helmholtz-2d, DeepXDE's plain recipe
(tanh, Glorot normal, fixed Hammersley points, Adam at the default learning rate, float32, the
same steps and network) runs beside ours when deepxde is installed (``DDE_BACKEND=pytorch``).

    python benchmarks/techniques.py [--problems poisson-2d,high-frequency-1d,heat-interface,helmholtz-2d]
        [--steps 3000] [--width 64] [--depth 3] [--variant NAME:key=value,...]... [--only-variants]
        [--cascade-levels 2] [--no-default] [--no-deepxde] [--threads 1] [--markdown docs/techniques.md]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.config import default_config, set_values  # noqa: E402
from engine.config.describe import describe_fields  # noqa: E402
from engine.demo import exact_temperature  # noqa: E402
from engine.errors import MtcError  # noqa: E402
from engine.inference import load_stage  # noqa: E402
from engine.layout import stage_folder  # noqa: E402
from engine.problem import load_problem  # noqa: E402
from engine.project import create_project  # noqa: E402
from engine.stages.cascade import level_names  # noqa: E402
from engine.train import StagePlan, train_stage  # noqa: E402
from engine.train.checkpoint import load_checkpoint  # noqa: E402

Columns = dict[str, np.ndarray]
NET = "<NET>"
BEGIN, END = "<!-- techniques:begin -->", "<!-- techniques:end -->"
CASCADE = "cascade"  # a variant whose name starts with this trains as a multilevel ladder (Bench.run_ladder)

HIGH_FREQUENCY = """from cfg import *

# u'' = f on [0, 1], u(0) = u(1) = 0; exact solution u = sin(2 pi x) + 0.1 sin(20 pi x).
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
line = p.Line1D("line", 0, 1)
interior = p.add_interior_subdomain("interior", geom=line)
ends = p.add_boundary_subdomain("ends", geom=line)
exact = sin(2 * pi * x) + 0.1 * sin(20 * pi * x)
p.add_constraint("poisson", enforce(equation=Eq(u.diff(x, 2), exact.diff(x, 2)), on_domain=interior))
p.add_constraint("ends", enforce(equation=Eq(u, 0), on_domain=ends))
p.set_reference(u=exact)
"""

HELMHOLTZ = """from cfg import *

# u_xx + u_yy + k^2 u = q on [-1, 1]^2 (k = 1), u = 0 on the boundary; exact u = sin(pi x) sin(4 pi y).
[x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
square = p.Rectangle("square", (-1, -1), (1, 1))
interior = p.add_interior_subdomain("interior", geom=square)
walls = p.add_boundary_subdomain("boundary", geom=square)
exact = sin(pi * x) * sin(4 * pi * y)
p.add_constraint("helmholtz", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2) + u, (1 - 17 * pi**2) * exact), on_domain=interior))
p.add_constraint("walls", enforce(equation=Eq(u, 0), on_domain=walls))
p.set_reference(u=exact)
"""


def square(lo: float, hi: float, n: int = 201) -> Columns:
    xs, ys = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n))
    return {"x": xs.ravel(), "y": ys.ravel()}


LINE = {"x": np.linspace(0.0, 1.0, 10001)}


@dataclass(frozen=True)
class Problem:
    """A shipped example (``source`` is its name) or a problem.py text, its exact solution and batch sizes."""

    source: str
    output: str
    exact: Callable[[Columns], np.ndarray]
    grid: Columns
    batches: dict[str, int]
    deepxde: bool = False  # DeepXDE's figure beside ours (benchmarks/deepxde_problems.py defines it)


PROBLEMS = {
    "poisson-2d": Problem(
        "poisson-2d", "u", lambda c: np.sin(np.pi * c["x"]) * np.sin(np.pi * c["y"]), square(0, 1),
        {"poisson": 2000, "walls": 400}, deepxde=True,
    ),
    "high-frequency-1d": Problem(
        HIGH_FREQUENCY, "u", lambda c: np.sin(2 * np.pi * c["x"]) + 0.1 * np.sin(20 * np.pi * c["x"]), LINE,
        {"poisson": 1000, "ends": 100}, deepxde=True,
    ),
    "heat-interface": Problem(
        "heat-interface", "T", lambda c: exact_temperature(c["x"]), LINE,
        {"metal_diff": 500, "paper_diff": 500, "interface_eq": 10, "interface_flux": 10},
    ),
    "helmholtz-2d": Problem(
        HELMHOLTZ, "u", lambda c: np.sin(np.pi * c["x"]) * np.sin(4 * np.pi * c["y"]), square(-1, 1),
        {"helmholtz": 2000, "walls": 400}, deepxde=True,
    ),
}  # fmt: skip

VARIANTS = [
    "lr_annealing:training.loss_balancing=lr_annealing",
    "gradnorm:training.loss_balancing=gradnorm",
    "relobralo:training.loss_balancing=relobralo",
    "self_adaptive:training.loss_balancing=self_adaptive",
    "plateau:training.stop_on_plateau=true",
    "kan:nets.<NET>.arch=kan,nets.<NET>.layer_size=24,nets.<NET>.nr_layers=2",
    "siren:nets.<NET>.arch=siren",
    "glorot_normal:nets.<NET>.init=glorot_normal",
    "tanh:nets.<NET>.activation=tanh",
    "silu:nets.<NET>.activation=silu",
    "cascade:",
    "rad:training.sampler=rad,training.resample_every=100",
    "rar_d:training.sampler=rar_d,training.resample_every=100",
]


@dataclass(frozen=True)
class Variant:
    name: str
    settings: tuple[str, ...]  # key=value, keys may hold <NET>

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, sep, body = text.partition(":")
        settings = tuple(s.strip() for s in body.split(",") if s.strip())
        if not sep or not name.strip() or any("=" not in s for s in settings):
            raise argparse.ArgumentTypeError(f"{text!r}: write a variant as NAME:key=value,key=value")
        return cls(name.strip(), settings)

    def missing(self) -> str | None:
        """Why this branch cannot run the variant (a key or choice its schema lacks), or None."""
        fields = describe_fields()
        for item in self.settings:
            key, value = item.split("=", 1)
            found = [d for d in fields if d.key == key]
            if not found:
                return f"no setting {key} on this branch"
            choices = {c for d in found if d.type == "choice" for c in d.choices or ()}
            if choices and all(d.type == "choice" for d in found) and value not in choices:
                return f"{key} has no choice {value} on this branch"
        return None

    def assignments(self, networks: list[str]) -> list[str]:
        """The settings with ``<NET>`` expanded to every network."""
        return [s.replace(NET, n) for s in self.settings for n in (networks if NET in s else [""])]


DEFAULT = Variant("default", ())


@dataclass
class Row:
    problem: str
    variant: str
    settings: str
    error: float = float("nan")
    steps: int = 0
    wall: float = 0.0
    parameters: int = 0
    note: str = ""


class Bench:
    """One problem's project and its base config (the defaults, sized by the command line)."""

    def __init__(self, name: str, problem: Problem, root: Path, args: argparse.Namespace):
        self.name, self.problem, self.args = name, problem, args
        shipped = "\n" not in problem.source
        self.project = create_project(root / name, example=problem.source if shipped else None)
        if not shipped:
            (self.project / "problem.py").write_text(problem.source)
        self.outline = load_problem(self.project).outline()
        self.networks = list(self.outline.networks)
        sized = [f"nets.{n}.{k}={v}" for n in self.networks for k, v in (("layer_size", args.width), ("nr_layers", args.depth))]
        batches = [f"constraints.{c}.batch_size={b}" for c, b in problem.batches.items()]
        common = [f"training.max_steps={args.steps}", "training.device=cpu", "training.checkpoint_every=1000000000",
                  f"training.log_every={max(1, args.steps // 20)}"]  # fmt: skip
        self.base = set_values(default_config(self.outline), [*common, *sized, *batches], self.outline)

    def run(self, variant: Variant) -> Row:
        ladder = variant.name.startswith(CASCADE)
        settings = ", ".join(variant.settings) or "(mtc defaults)"
        if ladder:
            levels = self.args.cascade_levels
            widths = " -> ".join(str(self.args.width // 2**level) for level in range(levels, -1, -1))
            settings = f"{settings}; width {widths}, {self.args.steps // (levels + 1)} steps each"
        row = Row(self.name, variant.name, settings)
        reason = variant.missing()
        if reason:
            row.note = f"not run: {reason}"
            return row
        try:
            config = set_values(self.base, variant.assignments(self.networks), self.outline)
            began = time.perf_counter()
            last = self.run_ladder(variant.name, config) if ladder else self.train(variant.name, config)
            row.wall = time.perf_counter() - began
        except MtcError as exc:
            row.note = f"failed: {exc}"
            return row
        row.steps = sum(load_checkpoint(stage_folder(self.project, name), name)["step"] for name in last)
        model = load_stage(self.project, last[-1])
        row.error = relative_l2(model.predict(self.problem.grid)[self.problem.output], self.problem)
        row.parameters = sum(p.numel() for net in model.networks.values() for p in net.parameters())
        return row

    def train(self, name: str, config: dict, parent: str | None = None) -> list[str]:
        train_stage(StagePlan(self.project, name, config, parent=parent, device="cpu"))
        return [name]

    def run_ladder(self, name: str, config: dict) -> list[str]:
        """Seed 003's cascade at the same budget: a root 2**levels times narrower, then ``mtc stage cascade``'s
        widening children (each twice as wide, from its parent's function), ``--steps`` split evenly."""
        levels, steps = self.args.cascade_levels, self.args.steps // (self.args.cascade_levels + 1)
        narrow = [f"nets.{n}.layer_size={self.args.width // 2**levels}" for n in self.networks]
        config = set_values(config, [*narrow, f"training.max_steps={steps}"], self.outline)
        names = self.train(name, config)
        for child in level_names(name, levels, 2):
            wider = [f"nets.{n}.layer_size={config['nets'][n]['layer_size'] * 2}" for n in self.networks]
            config = set_values(config, wider, self.outline)
            names += self.train(child, config, parent=names[-1])
        return names


def relative_l2(predicted: np.ndarray, problem: Problem) -> float:
    exact = problem.exact(problem.grid)
    return float(np.linalg.norm(predicted - exact) / np.linalg.norm(exact))


def deepxde_row(bench: Bench) -> Row:
    """DeepXDE's plain recipe on the same problem, network, point counts and steps."""
    from benchmarks.deepxde_problems import train_deepxde_adam

    name, problem, args, lr = bench.name, bench.problem, bench.args, bench.base["optimizer"]["lr"]
    row = Row(name, "DeepXDE", f"tanh, Glorot normal, fixed Hammersley points, Adam lr {lr:g}, float32")
    began = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # DeepXDE's progress lines stay out of the table
        predicted = train_deepxde_adam(name, problem.grid, problem.batches, args.width, args.depth, args.steps, lr)
    row.wall, row.steps = time.perf_counter() - began, args.steps
    row.error = relative_l2(predicted, problem)
    dims = [len(problem.grid), *[args.width] * args.depth, 1]
    row.parameters = sum((a + 1) * b for a, b in zip(dims, dims[1:]))
    return row


def table(rows: list[Row], args: argparse.Namespace) -> str:
    default = {r.problem: r.error for r in rows if r.variant == DEFAULT.name}
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"torch {torch.__version__}, Python {platform.python_version()}. Budget: {args.steps} steps per run, "
        f"{args.width}x{args.depth} per network, otherwise mtc's defaults.",
        "",
        "| problem | variant | settings | relative L2 error | vs default | steps | wall (s) | steps/s | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.note:
            lines.append(f"| {r.problem} | {r.variant} | {r.settings} | {r.note} | | | | | |")
            continue
        ratio = r.error / default[r.problem] if default.get(r.problem) else float("nan")
        lines.append(
            f"| {r.problem} | {r.variant} | {r.settings} | {r.error:.2e} | {ratio:.2f}x | {r.steps} | {r.wall:.0f} | "
            f"{r.steps / r.wall if r.wall else float('nan'):.1f} | {r.parameters:,} |"
        )
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, text: str) -> None:
    """Replace the table between the markers of ``path`` (prose around it stays), or write a new file."""
    body = f"{BEGIN}\n{text}{END}\n"
    if path.exists() and BEGIN in (old := path.read_text()) and END in old:
        body = old[: old.index(BEGIN)] + body + old[old.index(END) + len(END) :].lstrip("\n")
    path.write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--steps", type=int, default=3000, help="training steps of every run")
    parser.add_argument("--width", type=int, default=64, help="neurons per hidden layer of every network")
    parser.add_argument("--depth", type=int, default=3, help="hidden layers of every network")
    parser.add_argument("--variant", type=Variant.parse, action="append", default=[],
                        help="NAME:key=value,key=value (repeatable); added to the default list")  # fmt: skip
    parser.add_argument("--only-variants", action="store_true", help="run the --variant list only (and the default)")
    parser.add_argument("--no-default", dest="default", action="store_false",
                        help="skip the default's run (its figure is known: training is deterministic for a seed)")  # fmt: skip
    parser.add_argument("--cascade-levels", type=int, default=2, help="widening levels of the cascade variant (factor 2)")
    parser.add_argument("--no-deepxde", dest="deepxde", action="store_false", help="skip DeepXDE on poisson-2d")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady timings on a shared CPU)")
    parser.add_argument("--markdown", type=Path, help="write the table into this file (between its markers)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    unknown = [p for p in args.problems.split(",") if p not in PROBLEMS]
    if unknown:
        parser.error(f"unknown problem(s) {unknown}: choose from {', '.join(PROBLEMS)}")
    listed = [*([DEFAULT] if args.default else []), *([] if args.only_variants else [Variant.parse(v) for v in VARIANTS]), *args.variant]
    variants = list({v.name: v for v in listed}.values())  # a --variant of a listed name replaces it
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as root:
        for name in args.problems.split(","):
            problem = PROBLEMS[name]
            bench = Bench(name, problem, Path(root), args)
            for variant in variants:
                rows.append(bench.run(variant))
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
            if problem.deepxde and args.deepxde:
                if importlib.util.find_spec("deepxde") is None:
                    rows.append(Row(name, "DeepXDE", "", note="not run: deepxde is not installed"))
                else:
                    rows.append(deepxde_row(bench))
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    text = table(rows, args)
    print(text)
    if args.markdown:
        write_markdown(args.markdown, text)


if __name__ == "__main__":
    main()
