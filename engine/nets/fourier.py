"""Modulus' Fourier net: ``[x, sin(2 pi B x), cos(2 pi B x)]`` (fixed Gaussian ``B``), then a fully connected trunk."""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.config.schema import Fourier
from engine.nets.activations import activation
from engine.nets.layers import Init, Net, standard_net


class FourierFeatures(nn.Module):
    """``x -> [x, sin(2 pi x B^T), cos(2 pi x B^T)]``; ``B`` (frequencies, n_inputs) ~ N(0, sigma^2) is a buffer."""

    frequency_matrix: torch.Tensor

    def __init__(self, n_inputs: int, frequencies: int, sigma: float, init: Init):
        super().__init__()
        self.register_buffer("frequency_matrix", init.normal((frequencies, n_inputs), sigma))
        self.out_features = n_inputs + 2 * frequencies

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = (2 * math.pi) * (x @ self.frequency_matrix.T)
        return torch.cat([x, torch.sin(phase), torch.cos(phase)], dim=-1)


def build(settings: Fourier, n_inputs: int, n_outputs: int, init: Init) -> Net:
    """The Fourier feature network of ``settings``."""
    features = FourierFeatures(n_inputs, settings.frequencies, settings.sigma, init)
    act = activation(settings.activation)
    return standard_net(settings, features, features.out_features, n_inputs, n_outputs, act, init)
