"""Uniform B-splines on ``[-1, 1]`` in torch ops: knots, the Cox-de Boor basis, and the refit to a finer grid.

A spline of order ``k`` on ``G`` intervals has ``G + k`` basis functions; its knots extend
``k`` intervals beyond each end, so every basis function is complete on ``[-1, 1]``. The
basis is built with differentiable torch operations: autograd gives its exact derivatives on
each polynomial piece (``k - 1`` continuous derivatives across the knots).
"""

from __future__ import annotations

import torch


def uniform_knots(grid: int, order: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The ``grid + 2 order + 1`` knots of ``grid`` equal intervals on ``[-1, 1]``, extended ``order`` each side."""
    step = 2.0 / grid
    return -1.0 + step * torch.arange(-order, grid + order + 1, dtype=dtype)


def _levels(u: torch.Tensor, knots: torch.Tensor, order: int) -> list[torch.Tensor]:
    """Cox-de Boor: the B-splines of every order ``0..order`` on ``knots`` at ``u``, each ``(..., n_basis(p))``."""
    u = u.unsqueeze(-1)
    levels = [((u >= knots[:-1]) & (u < knots[1:])).to(u.dtype)]
    for p in range(1, order + 1):
        left = (u - knots[: -(p + 1)]) / (knots[p:-1] - knots[: -(p + 1)]) * levels[-1][..., :-1]
        right = (knots[p + 1 :] - u) / (knots[p + 1 :] - knots[1:-p]) * levels[-1][..., 1:]
        levels.append(left + right)
    return levels


def basis(u: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """``(..., n_basis)`` values of every B-spline of ``order`` on ``knots`` at ``u`` (any shape), Cox-de Boor."""
    return _levels(u, knots, order)[-1]


def basis_derivatives(u: torch.Tensor, knots: torch.Tensor, order: int, count: int) -> list[torch.Tensor | None]:
    """``[B, dB/du, ..., d^count B/du^count]`` of :func:`basis` on uniform ``knots`` (None: identically zero).

    On knots ``h`` apart, ``dB_(b,p)/du = (B_(b,p-1) - B_(b+1,p-1)) / h``: the ``m``-th derivative is
    the ``m``-th forward difference of the order ``p - m`` splines over ``h^m``, exact on each piece
    (where nested autograd through :func:`basis` gives the same values).
    """
    levels = _levels(u, knots, order)
    step = knots[1] - knots[0]
    derivatives: list[torch.Tensor | None] = [levels[-1]]
    for m in range(1, count + 1):
        if m > order:
            derivatives.append(None)
            continue
        values = levels[order - m]
        for _ in range(m):
            values = (values[..., :-1] - values[..., 1:]) / step
        derivatives.append(values)
    return derivatives


def refit_matrix(old_grid: int, new_grid: int, order: int, samples_per_basis: int = 8) -> torch.Tensor:
    """``T`` (new basis, old basis) with ``T @ c`` the least-squares fit on the new grid of the spline with coefficients ``c``.

    Fitted on evenly spaced points of ``[-1, 1]`` (float64). When ``new_grid`` is a multiple
    of ``old_grid`` the old knots are among the new ones, the new splines contain the old
    ones, and the fit is exact up to rounding.
    """
    count = samples_per_basis * (new_grid + order) + 1
    u = torch.linspace(-1.0, 1.0, count, dtype=torch.float64)
    old = basis(u, uniform_knots(old_grid, order), order)
    new = basis(u, uniform_knots(new_grid, order), order)
    return torch.linalg.lstsq(new, old).solution
