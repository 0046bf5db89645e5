"""Modulus' fully connected network: ``nr_layers`` hidden layers, optional skips, linear output (Glorot uniform init by default)."""

from __future__ import annotations

from torch import nn

from engine.config.schema import FullyConnected
from engine.nets.activations import activation
from engine.nets.layers import Init, Net, standard_net


def build(settings: FullyConnected, n_inputs: int, n_outputs: int, init: Init) -> Net:
    """The fully connected network of ``settings``."""
    act = activation(settings.activation)
    return standard_net(settings, nn.Identity(), n_inputs, n_inputs, n_outputs, act, init)
