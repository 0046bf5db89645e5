"""Derivatives of every covered activation to any order, as functions of the pre-activation.

``RULES`` maps an activation module type to ``(module, z, order) -> [f, f', ..., f^(order)]``
(None for a derivative that is identically zero). An activation without a rule is not
covered: a network using it trains with nested autograd (``training.derivatives=auto``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from numpy.polynomial import Polynomial
from torch import nn

from engine.nets.activations import Sine

Tensor = torch.Tensor
Rule = Callable[[nn.Module, Tensor, int], Sequence[Tensor | None]]


MAX_ORDER = 6
"""The highest derivative order the rules carry (a plan asking more falls back to nested autograd)."""


def _chain_polynomials(derivative: tuple[float, ...]) -> tuple[tuple[float, ...], ...]:
    """Coefficients of P_k, k <= MAX_ORDER, with f^(k) = P_k(f), for an f whose f' is the polynomial ``derivative`` of f."""
    d = Polynomial(derivative)
    polys = [Polynomial([0.0, 1.0])]
    for _ in range(MAX_ORDER):
        polys.append(polys[-1].deriv() * d)
    return tuple(tuple(float(c) for c in p.coef) for p in polys)


TANH = _chain_polynomials((1.0, 0.0, -1.0))  # tanh' = 1 - tanh^2
SIGMOID = _chain_polynomials((0.0, 1.0, -1.0))  # s' = s - s^2


def _horner(coefficients: Sequence[float], t: Tensor) -> Tensor:
    result = torch.full_like(t, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = result * t + c
    return result


def _from_value(value: Tensor, polynomials: tuple[tuple[float, ...], ...], order: int) -> list[Tensor]:
    return [value, *(_horner(polynomials[k], value) for k in range(1, order + 1))]


def tanh(module: nn.Module, z: Tensor, order: int) -> list[Tensor]:
    """Every derivative of tanh is a polynomial in tanh."""
    return _from_value(torch.tanh(z), TANH, order)


def sigmoid(module: nn.Module, z: Tensor, order: int) -> list[Tensor]:
    """Every derivative of the sigmoid is a polynomial in it."""
    return _from_value(torch.sigmoid(z), SIGMOID, order)


def silu(module: nn.Module, z: Tensor, order: int) -> list[Tensor]:
    """(z s)^(k) = z s^(k) + k s^(k-1)."""
    s = sigmoid(module, z, order)
    return [z * s[0], *(z * s[k] + k * s[k - 1] for k in range(1, order + 1))]


def gelu(module: nn.Module, z: Tensor, order: int) -> list[Tensor]:
    """(z Phi)^(k) = z Phi^(k) + k Phi^(k-1), Phi^(k) = (-1)^(k-1) He_(k-1)(z) phi(z) (exact erf GELU)."""
    phi = torch.exp(-0.5 * z * z) * (1.0 / math.sqrt(2 * math.pi))
    cdf = 0.5 * (1 + torch.erf(z * (1 / math.sqrt(2))))
    hermite = [torch.ones_like(z), z]
    for j in range(1, order):
        hermite.append(z * hermite[j] - j * hermite[j - 1])
    cdfs = [cdf, *((-1) ** (k - 1) * hermite[k - 1] * phi for k in range(1, order + 1))]
    return [z * cdf, *(z * cdfs[k] + k * cdfs[k - 1] for k in range(1, order + 1))]


def sine(module: nn.Module, z: Tensor, order: int) -> list[Tensor]:
    """d^k sin(w z) = w^k sin(w z + k pi / 2)."""
    omega = module.omega if isinstance(module, Sine) else 1.0
    s, c = torch.sin(omega * z), torch.cos(omega * z)
    cycle = [s, c, -s, -c]
    return [cycle[k % 4] if omega == 1.0 else omega**k * cycle[k % 4] for k in range(order + 1)]


def relu(module: nn.Module, z: Tensor, order: int) -> list[Tensor | None]:
    """relu' is the step (0 at 0, as autograd has it); higher derivatives are zero."""
    return [torch.relu(z), (z > 0).to(z.dtype), *([None] * (order - 1))][: order + 1]


RULES: dict[type[nn.Module], Rule] = {
    nn.Tanh: tanh,
    nn.Sigmoid: sigmoid,
    nn.SiLU: silu,
    nn.GELU: gelu,
    Sine: sine,
    nn.ReLU: relu,
}


def rule_for(module: nn.Module) -> Rule | None:
    """The derivative rule of ``module``, or None when it is not covered (tanh-approximated GELU, unknown types)."""
    if isinstance(module, nn.GELU) and module.approximate != "none":
        return None
    return RULES.get(type(module))


def cos_rule(z: Tensor, order: int) -> list[Tensor]:
    """d^k cos z = cos(z + k pi / 2) (Fourier features)."""
    s, c = torch.sin(z), torch.cos(z)
    return [[c, -s, -c, s][k % 4] for k in range(order + 1)]


def sin_rule(z: Tensor, order: int) -> list[Tensor]:
    """d^k sin z (Fourier features)."""
    return sine(Sine(), z, order)


