"""The box's hard-boundary distance functions at its corners: Laplacians of phi and of N = u / phi.

For poisson-2d with ``constraints.walls.hard=true`` the model is ``u = phi N``; this prints, at
points approaching the corner (0, 0) along the diagonal and approaching the middle of a wall,
phi and its Laplacian and the Laplacian of the function the network must learn, ``N = u / phi``
with u the exact solution, for the two distances of the walls: the R-equivalence of the four
segment distances (``rfunction``) and the normalised product of the walls' flat distances that
mtc uses on a box (``product``; docs/precision.md, "Hard against soft boundary values with LM").

    python benchmarks/hard_corners.py
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.problem import load_problem  # noqa: E402
from engine.problem.geometry.distance import joined_distance  # noqa: E402
from engine.problem.hard import hard_condition, output_distance  # noqa: E402
from engine.project import create_project  # noqa: E402

Tensor = torch.Tensor


def laplacian(f, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """f(x, y) and its Laplacian, by autograd."""
    x, y = x.clone().requires_grad_(), y.clone().requires_grad_()
    value = f(x, y)
    gx, gy = torch.autograd.grad(value.sum(), (x, y), create_graph=True)
    second = torch.autograd.grad(gx.sum(), x, retain_graph=True)[0] + torch.autograd.grad(gy.sum(), y)[0]
    return value.detach(), second.detach()


def main() -> None:
    torch.set_default_dtype(torch.float64)
    with tempfile.TemporaryDirectory() as root:
        problem = load_problem(create_project(Path(root) / "p", example="poisson-2d"))
    condition = hard_condition(problem, "walls")
    product = output_distance([condition])
    distances = {
        "rfunction": lambda x, y: joined_distance(condition.pieces, {"x": x, "y": y}),
        "product": lambda x, y: product({"x": x, "y": y}),
    }
    for name, phi in distances.items():

        def network(x: Tensor, y: Tensor, phi=phi) -> Tensor:
            return torch.sin(math.pi * x) * torch.sin(math.pi * y) / phi(x, y)

        for r in (0.3, 0.1, 0.03, 0.01, 0.003, 0.001):
            for where, (x, y) in (("corner diagonal", (r, r)), ("wall middle", (r, 0.5))):
                point = torch.tensor([float(x)]), torch.tensor([float(y)])
                p, lap_p = laplacian(phi, *point)
                n, lap_n = laplacian(network, *point)
                print(f"{name:9} r = {r:<6} {where:15} phi {p.item():.3e}  lap(phi) {lap_p.item():+.3e}  "
                      f"N = u / phi {n.item():.3e}  lap(N) {lap_n.item():+.3e}")  # fmt: skip


if __name__ == "__main__":
    main()
