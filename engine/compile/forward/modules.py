"""Jet rules of the layers mtc builds: an explicit registry, so anything else is refused by name.

``RULES`` maps a module type (exact, not subclasses: a subclass may compute something else)
to ``(module, jet) -> jet``. :func:`unsupported_layer` names the first layer of a network
that neither has a rule nor is a covered activation; such a network trains with nested
autograd under ``training.derivatives=auto`` and is refused under ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from engine.nets.corrected import CorrectedNetwork
from engine.nets.fourier import FourierFeatures
from engine.nets.kan import KanLayer, KanNet
from engine.nets.layers import Dense, Net, Trunk
from engine.nets.modified_fourier import ModifiedFourierNet

from ..hard_outputs import HardOutputs
from .activations import cos_rule, rule_for, sin_rule
from .kan import kan_layer, kan_net
from .jets import Index, Jet, Tables, add, concat, columns, elementwise, linear, multiply, scale

Tensor = torch.Tensor
JetRule = Callable[[Any, Jet], Jet]


class NotCovered(Exception):
    """A layer or a derivative the forward path has no rule for; ``what`` names it."""

    def __init__(self, what: str):
        super().__init__(f"{what}: no forward-derivative rule")
        self.what = what


def module_jet(module: nn.Module, jet: Jet) -> Jet:
    """``module(jet)`` with its planned derivatives."""
    rule = RULES.get(type(module))
    if rule is not None:
        return rule(module, jet)
    activation = rule_for(module)
    if activation is None:
        raise NotCovered(type(module).__name__)
    return elementwise(jet, lambda z, order: activation(module, z, order))


def _dense(module: Dense | nn.Linear, jet: Jet) -> Jet:
    return linear(jet, module.weight, module.bias)


def _trunk(trunk: Trunk, jet: Jet, mix: Callable[[Jet], Jet] | None = None) -> Jet:
    """Mirrors :meth:`Trunk.forward`: layer, activation, optional gate, Modulus skips."""
    skip: Jet | None = None
    for i, layer in enumerate(trunk.layers, trunk.first_index):
        jet = module_jet(trunk.act, module_jet(layer, jet))
        if mix is not None:
            jet = mix(jet)
        if trunk.skip_connections and i % 2 == 0:
            jet, skip = (jet, jet) if skip is None else (add(jet, skip), jet)
    return jet


def _net(net: Net, jet: Jet) -> Jet:
    return module_jet(net.head, _trunk(net.trunk, module_jet(net.encoder, jet)))


def _fourier_features(features: FourierFeatures, jet: Jet) -> Jet:
    """``[x, sin(2 pi x B^T), cos(2 pi x B^T)]``, the phase computed as the module computes it."""
    phase = scale(linear(jet, features.frequency_matrix, None), 2 * math.pi)
    return concat([jet, elementwise(phase, sin_rule), elementwise(phase, cos_rule)])


def _modified_fourier(net: ModifiedFourierNet, jet: Jet) -> Jet:
    act = net.trunk.act
    f = module_jet(net.encoder, jet)
    u, v = module_jet(act, module_jet(net.u, f)), module_jet(act, module_jet(net.v, f))

    def gate(z: Jet) -> Jet:
        return add(multiply(scale(z, -1.0, 1.0), u), multiply(z, v))

    h = _trunk(net.trunk, module_jet(act, module_jet(net.stem, f)), mix=gate)
    return module_jet(net.head, h)


def _corrected(net: CorrectedNetwork, jet: Jet) -> Jet:
    correction = concat([module_jet(c, jet) for c in net.corrections])
    return add(module_jet(net.base, jet), scale(correction, net.eps))


def _function_jet(fn: Callable[[Tensor], Tensor], x: Tensor, tables: Tables) -> Jet:
    """The jet of a parameter-free per-point function of the inputs (g_ext, phi) by nested autograd, detached."""
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        table: dict[Index, Tensor | None] = {(): fn(leaf)}
        gradients: dict[Index, Tensor | None] = {}
        for index in tables.indices:
            lower = index[:-1]
            if lower not in gradients:
                base = table[lower]
                usable = base is not None and base.requires_grad
                gradients[lower] = torch.autograd.grad(base.sum(), leaf, create_graph=True)[0] if usable else None
            gradient = gradients[lower]
            table[index] = None if gradient is None else gradient[:, index[-1]]
    parts = {index: t.detach().unsqueeze(1) for index, t in table.items() if index and t is not None}
    return Jet(table[()].detach().unsqueeze(1), tables, parts)


def _hard_outputs(module: HardOutputs, jet: Jet) -> Jet:
    """``g_ext + phi * N`` per constrained output (product rule); g_ext and phi do not depend on the weights."""
    raw = module_jet(module.inner, jet)
    outputs = []
    for k, output in enumerate(module.outputs):
        column = columns(raw, k, k + 1)
        if module.conditions[output]:
            g_ext = _function_jet(lambda x: module.boundary_terms(x, output)[0], jet.value, jet.tables)
            phi = _function_jet(lambda x: module.boundary_terms(x, output)[1], jet.value, jet.tables)
            column = add(g_ext, multiply(phi, column))
        outputs.append(column)
    return concat(outputs)


RULES: dict[type, JetRule] = {
    Dense: _dense,
    nn.Linear: _dense,
    nn.Identity: lambda module, jet: jet,
    Trunk: _trunk,
    Net: _net,
    FourierFeatures: _fourier_features,
    ModifiedFourierNet: _modified_fourier,
    CorrectedNetwork: _corrected,
    HardOutputs: _hard_outputs,
    KanLayer: kan_layer,
    KanNet: kan_net,
}


def unsupported_layer(module: nn.Module) -> str | None:
    """The name (path and type) of the first layer of ``module`` the forward path does not cover, else None."""
    for path, layer in module.named_modules():
        if type(layer) in RULES or isinstance(layer, nn.ModuleList) or rule_for(layer) is not None:
            continue
        return f"{path or '<network>'} ({type(layer).__name__})"
    return None
