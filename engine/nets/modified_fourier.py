"""Modulus' modified Fourier net (Wang et al.'s modified MLP on Fourier features).

``f = features(x)``, ``U = act(W_u f)``, ``V = act(W_v f)``, ``H_1 = act(W_1 f)``,
then ``Z_k = act(W_k H_k)``, ``H_{k+1} = (1 - Z_k) * U + Z_k * V`` (biases implied).
"""

from __future__ import annotations

import torch

from engine.config.schema import ModifiedFourier
from engine.nets.activations import activation
from engine.nets.fourier import FourierFeatures
from engine.nets.layers import Dense, Init, Net, Trunk


class ModifiedFourierNet(Net):
    """Fourier features, encoders ``u``/``v``, a first layer ``stem``, then gated trunk layers."""

    def __init__(self, settings: ModifiedFourier, n_inputs: int, n_outputs: int, init: Init):
        features = FourierFeatures(n_inputs, settings.frequencies, settings.sigma, init)
        width = settings.layer_size
        layers = init.stack([width] * settings.nr_layers)
        trunk = Trunk(layers, activation(settings.activation), settings.skip_connections, first_index=1)
        super().__init__(n_inputs, n_outputs, features, trunk, init.dense(width, n_outputs))
        self.stem: Dense = init.dense(features.out_features, width)
        self.u: Dense = init.dense(features.out_features, width)
        self.v: Dense = init.dense(features.out_features, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.trunk.act
        f = self.encoder(x)
        u, v = act(self.u(f)), act(self.v(f))
        h = self.trunk(act(self.stem(f)), mix=lambda z: (1 - z) * u + z * v)
        return self.head(h)


def build(settings: ModifiedFourier, n_inputs: int, n_outputs: int, init: Init) -> Net:
    """The modified Fourier network of ``settings``."""
    return ModifiedFourierNet(settings, n_inputs, n_outputs, init)
