"""The benchmark's problems in DeepXDE (pytorch backend, float64), for ``benchmarks/precision.py``.

Same network (tanh, width x depth, Glorot uniform), as many training points per constraint
(Hammersley points: DeepXDE samples its own), Adam at the same learning rate and halving
schedule, then DeepXDE's L-BFGS with an iteration cap.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("DDE_BACKEND", "pytorch")


def _problem(example: str, dde, torch):  # noqa: ANN001, ANN202
    """Geometry, PDE residual, boundary conditions and output transform of ``example``."""
    pi = np.pi
    if example in ("precision-1d", "two-frequency-1d"):
        geom = dde.geometry.Interval(0.0, 1.0)
        a, k = (0.1, 8) if example == "precision-1d" else (0.2, 6)

        def pde(x, y):  # noqa: ANN001, ANN202
            source = -((2 * pi) ** 2) * torch.sin(2 * pi * x) - a * (k * pi) ** 2 * torch.sin(k * pi * x)
            return dde.grad.hessian(y, x) - source

        if example == "precision-1d":  # the model u = x (1 - x) v, as in the mtc project
            return geom, pde, [], lambda x, y: x * (1 - x) * y
        return geom, pde, [dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda x, on: on)], None
    if example == "poisson-2d":
        geom = dde.geometry.Rectangle([0.0, 0.0], [1.0, 1.0])

        def pde(x, y):  # noqa: ANN001, ANN202
            laplacian = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return -laplacian - 2 * pi**2 * torch.sin(pi * x[:, 0:1]) * torch.sin(pi * x[:, 1:2])

        return geom, pde, [dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda x, on: on)], None
    # benchmarks/techniques.py's own problems (defined there as problem.py texts)
    if example == "high-frequency-1d":
        geom = dde.geometry.Interval(0.0, 1.0)

        def pde(x, y):  # noqa: ANN001, ANN202
            source = -((2 * pi) ** 2) * torch.sin(2 * pi * x) - 0.1 * (20 * pi) ** 2 * torch.sin(20 * pi * x)
            return dde.grad.hessian(y, x) - source

        return geom, pde, [dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda x, on: on)], None
    if example == "helmholtz-2d":
        geom = dde.geometry.Rectangle([-1.0, -1.0], [1.0, 1.0])

        def pde(x, y):  # noqa: ANN001, ANN202
            laplacian = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
            return laplacian + y - (1 - 17 * pi**2) * torch.sin(pi * x[:, 0:1]) * torch.sin(4 * pi * x[:, 1:2])

        return geom, pde, [dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda x, on: on)], None
    raise ValueError(f"no DeepXDE version of {example!r}")


def train_deepxde(
    example: str, grid: dict[str, np.ndarray], batches: dict[str, int], args: argparse.Namespace
) -> tuple[np.ndarray, float]:
    """Train ``example`` in DeepXDE; returns the prediction on ``grid`` and the final training loss."""
    import deepxde as dde
    import torch

    dde.config.set_default_float("float64")
    dde.config.set_random_seed(0)
    geom, pde, bcs, transform = _problem(example, dde, torch)
    counts = list(batches.values())
    data = dde.data.PDE(
        geom, pde, bcs, num_domain=counts[0], num_boundary=counts[1] if len(counts) > 1 else 0,
        train_distribution="Hammersley",
    )  # fmt: skip
    net = dde.nn.FNN([geom.dim] + [args.width] * args.depth + [1], "tanh", "Glorot uniform")
    if transform is not None:
        net.apply_output_transform(transform)
    model = dde.Model(data, net)
    model.compile("adam", lr=0.005, decay=("step", max(1, args.adam // 6), 0.5))
    model.train(iterations=args.adam, display_every=max(1, args.adam))
    dde.optimizers.config.set_LBFGS_options(maxiter=args.deepxde_lbfgs)
    model.compile("L-BFGS")
    _, state = model.train(display_every=max(1, args.deepxde_lbfgs))
    points = np.stack([grid[v] for v in ("x", "y")[: geom.dim]], axis=1)
    return model.predict(points).reshape(-1), float(np.sum(state.loss_train))


def train_deepxde_adam(
    example: str, grid: dict[str, np.ndarray], batches: dict[str, int], width: int, depth: int, steps: int, lr: float
) -> np.ndarray:
    """DeepXDE's plain recipe at a step budget, for ``benchmarks/techniques.py``: float32, tanh, Glorot normal,
    fixed Hammersley points (as many per constraint), ``steps`` Adam steps at ``lr``; the prediction on ``grid``."""
    import deepxde as dde
    import torch

    dde.config.set_default_float("float32")
    dde.config.set_random_seed(0)
    geom, pde, bcs, transform = _problem(example, dde, torch)
    counts = list(batches.values())
    data = dde.data.PDE(geom, pde, bcs, num_domain=counts[0], num_boundary=counts[-1], train_distribution="Hammersley")
    net = dde.nn.FNN([geom.dim] + [width] * depth + [1], "tanh", "Glorot normal")
    if transform is not None:
        net.apply_output_transform(transform)
    model = dde.Model(data, net)
    model.compile("adam", lr=lr)
    model.train(iterations=steps, display_every=max(1, steps))
    points = np.stack([grid[v] for v in ("x", "y")[: geom.dim]], axis=1)
    return model.predict(points).reshape(-1)
