"""Which choice makes a PINN match DeepXDE on poisson-2d at equal steps: initialisation, activation, point sets.

The issue's set-up (issue 11, item 6): u = sin(pi x) sin(pi y) on the unit square, a 64 x 3
network, 3000 Adam steps at a constant lr 1e-3, float32, 2000 interior + 400 boundary points,
loss = mean squared PDE residual + mean squared boundary value (mtc's and DeepXDE's loss). Each
variant is ``ACTIVATION:INIT:POINTS:SEED``: ``INIT`` a ``nets.<NET>.init`` name (the network is
mtc's own ``build_network``), ``POINTS`` ``fixed`` (drawn once, as DeepXDE trains) or
``resampled`` (new uniform points every step, mtc's default). ``deepxde:SEED`` runs DeepXDE
itself (pytorch backend, tanh, Glorot normal, its Hammersley points, the PDE residual on the
interior and the boundary points), when it is installed; ``deepxde:SEED:OPTION+OPTION`` changes
one ingredient each (``DEEPXDE_OPTIONS``: ``pseudo`` points, ``resampled`` every step,
``interior_pde``). Reported: the relative L2 error against the exact solution on a 101 x 101 grid.
One torch thread.

    python benchmarks/poisson_choices.py tanh:default:resampled:0 silu:default:resampled:0 deepxde:0
    python benchmarks/poisson_choices.py deepxde:0:pseudo+resampled deepxde:0:interior_pde
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
import torch

STEPS, LR, WIDTH, DEPTH, INTERIOR, BOUNDARY = 3000, 1e-3, 64, 3, 2000, 400


def grid() -> torch.Tensor:
    s = torch.linspace(0, 1, 101)
    x, y = torch.meshgrid(s, s, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], 1)


def exact(points: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * points[:, 0]) * torch.sin(math.pi * points[:, 1])


def relative_l2(predicted: torch.Tensor, points: torch.Tensor) -> float:
    return float(torch.linalg.norm(predicted.reshape(-1) - exact(points)) / torch.linalg.norm(exact(points)))


def interior(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 2, generator=generator)


def boundary(n: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform on the square's perimeter."""
    t = torch.rand(n, generator=generator)
    side = torch.randint(0, 4, (n,), generator=generator)
    fixed = (side % 2).to(t.dtype)  # sides 0, 2: coordinate 0; sides 1, 3: coordinate 1
    vertical = side < 2  # x fixed, y = t
    return torch.where(vertical[:, None], torch.stack([fixed, t], 1), torch.stack([t, fixed], 1))


def loss(model: torch.nn.Module, xi: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
    x = xi.clone().requires_grad_(True)
    (du,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    uxx = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)[0][:, 0]
    uyy = torch.autograd.grad(du[:, 1].sum(), x, create_graph=True)[0][:, 1]
    source = 2 * math.pi**2 * exact(x)
    return ((-(uxx + uyy) - source) ** 2).mean() + (model(xb) ** 2).mean()


def run_mtc_network(activation: str, init: str, points: str, seed: int) -> float:
    from engine.nets import build_network

    config = {"layer_size": WIDTH, "nr_layers": DEPTH, "activation": activation, "init": init}
    model = build_network(config, 2, 1, seed=seed)
    generator = torch.Generator().manual_seed(1000 + seed)
    xi, xb = interior(INTERIOR, generator), boundary(BOUNDARY, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for step in range(STEPS):
        if points == "resampled" and step:
            xi, xb = interior(INTERIOR, generator), boundary(BOUNDARY, generator)
        optimizer.zero_grad()
        loss(model, xi, xb).backward()
        optimizer.step()
    points_ = grid()
    with torch.no_grad():
        return relative_l2(model(points_), points_)


DEEPXDE_OPTIONS = ("pseudo", "resampled", "interior_pde")


def _every_step_resampler(dde):  # noqa: ANN001, ANN202
    """DeepXDE's PDEPointResampler at period 1 (PDE and boundary points), drawing again when a random interior
    point lands within DeepXDE's tolerance of the boundary (its boundary set would change size and stop it)."""

    class EveryStep(dde.callbacks.PDEPointResampler):
        def on_epoch_end(self) -> None:
            data = self.model.data
            while True:
                data.resample_train_points(pde_points=True, bc_points=True)
                data.train_next_batch()
                if list(data.num_bcs) == list(self.num_bcs_initial):
                    return

    return EveryStep(period=1, bc_points=True)


def run_deepxde(seed: int, options: tuple[str, ...] = ()) -> float:
    """DeepXDE's recipe, each of ``DEEPXDE_OPTIONS`` changing one ingredient: ``pseudo`` points (uniform random)
    instead of Hammersley's, ``resampled`` every step (its PDEPointResampler, boundary points too), and
    ``interior_pde``: the PDE residual on the interior points only (DeepXDE's PDE set also holds the boundary
    points), its loss still the mean over them."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import deepxde as dde

    unknown = set(options) - set(DEEPXDE_OPTIONS)
    if unknown:
        raise SystemExit(f"unknown DeepXDE option(s) {sorted(unknown)}: choose from {', '.join(DEEPXDE_OPTIONS)}")
    dde.config.set_default_float("float32")
    dde.config.set_random_seed(seed)
    geom = dde.geometry.Rectangle([0, 0], [1, 1])

    def pde(x, y):  # noqa: ANN001, ANN202
        laplacian = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
        residual = -laplacian - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0:1]) * torch.sin(math.pi * x[:, 1:2])
        if "interior_pde" in options:  # boundary points lie exactly on x, y = 0 or 1
            on_boundary = ((x == 0) | (x == 1)).any(dim=1, keepdim=True)
            residual = torch.where(on_boundary, torch.zeros_like(residual), residual)
        return residual

    bc = dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda x, on: on)
    distribution = "pseudo" if "pseudo" in options else "Hammersley"
    data = dde.data.PDE(
        geom, pde, [bc], num_domain=INTERIOR, num_boundary=BOUNDARY, train_distribution=distribution
    )  # fmt: skip
    model = dde.Model(data, dde.nn.FNN([2] + [WIDTH] * DEPTH + [1], "tanh", "Glorot normal"))
    # interior_pde: the zeroed boundary rows would shrink the PDE term's mean by INTERIOR / (INTERIOR + BOUNDARY)
    weights = [(INTERIOR + BOUNDARY) / INTERIOR, 1.0] if "interior_pde" in options else None
    model.compile("adam", lr=LR, loss_weights=weights)
    callbacks = [_every_step_resampler(dde)] if "resampled" in options else []
    model.train(iterations=STEPS, display_every=STEPS, verbose=0, callbacks=callbacks)
    points = grid()
    return relative_l2(torch.as_tensor(np.asarray(model.predict(points.numpy()))), points)


def main(variants: list[str]) -> None:
    torch.set_num_threads(1)
    for variant in variants:
        start = time.perf_counter()
        parts = variant.split(":")
        if parts[0] == "deepxde":
            error = run_deepxde(int(parts[1]), tuple(parts[2].split("+")) if len(parts) > 2 else ())
        else:
            error = run_mtc_network(*parts[:3], int(parts[3]))
        print(json.dumps({"variant": variant, "rel_l2": error, "wall_s": round(time.perf_counter() - start)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
