"""Jet rules of the KAN (:mod:`engine.nets.kan`): base activations and B-spline edges carried forward.

A KAN layer is ``base(x) @ W_base + sum_i spline_i(u(x_i)) + bias`` with ``u`` the identity (first
layer) or tanh (hidden layers). The base part is an activation and a linear map; each edge spline
is a function of one input, so its derivatives follow Faa di Bruno with the spline's own
derivatives, which are differences of lower-order B-splines (:func:`engine.nets.bsplines.basis_derivatives`).
"""

from __future__ import annotations

from functools import reduce

import torch
from torch import nn

from engine.nets.bsplines import basis_derivatives
from engine.nets.kan import KanLayer, KanNet

from .activations import rule_for, tanh
from .jets import Jet, add, chain_rule, elementwise, linear

_TANH = nn.Tanh()  # the hidden layers' warp onto the grid


def _base(layer: KanLayer, jet: Jet) -> Jet:
    """``base(x) @ (mask * scale_base)``."""
    rule = rule_for(layer.base)
    if rule is None:  # unsupported_layer names it before a plan is built
        raise ValueError(f"KAN base activation {type(layer.base).__name__} has no forward-derivative rule")
    activated = elementwise(jet, lambda z, order: rule(layer.base, z, order))
    return linear(activated, (layer.mask * layer.scale_base).T, None)


def _splines(layer: KanLayer, jet: Jet) -> Jet:
    """``sum_i spline_io(u(x_i))``: each multi-index is Faa di Bruno's sum over ``m`` of the basis' ``m``-th
    derivatives times products of ``u``'s parts, (N, n_in, n_basis), contracted with the coefficients in one matmul."""
    u = elementwise(jet, lambda z, order: tanh(_TANH, z, order)) if layer.warp else jet
    n_in, n_out, n_basis = layer.coef.shape
    coefficients = layer.coef * (layer.mask * layer.scale_spline).unsqueeze(-1)
    weight = coefficients.transpose(1, 2).reshape(n_in * n_basis, n_out)
    bases = basis_derivatives(u.value, layer.knots, layer.order, jet.tables.order)
    summed = chain_rule(u, bases, lambda basis, factors: basis * reduce(torch.mul, factors).unsqueeze(-1))
    parts = {index: total.reshape(len(total), -1) @ weight for index, total in summed.items()}
    assert bases[0] is not None
    return Jet(bases[0].reshape(len(bases[0]), -1) @ weight, jet.tables, parts)


def kan_layer(layer: KanLayer, jet: Jet) -> Jet:
    """Mirrors :meth:`KanLayer.forward`."""
    total = add(_base(layer, jet), _splines(layer, jet))
    return Jet(total.value + layer.bias, total.tables, total.parts)


def kan_net(net: KanNet, jet: Jet) -> Jet:
    """Mirrors :meth:`KanNet.forward`: the inputs mapped onto ``[-1, 1]``, then the layers."""
    factor = 2 / (net.input_high - net.input_low)
    h = Jet(net.scaled(jet.value), jet.tables, {index: factor * part for index, part in jet.parts.items()})
    for layer in net.layers:
        h = kan_layer(layer, h)
    return h
