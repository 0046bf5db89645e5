"""SIREN (Sitzmann et al. 2020): ``sin(omega0 * (W h + b))`` layers, linear output, zero biases.

First-layer weights ~ U(-1/n, 1/n), all others ~ U(-sqrt(6/n)/omega0, sqrt(6/n)/omega0), n = fan-in.
"""

from __future__ import annotations

import math

from torch import nn

from engine.config.schema import Siren
from engine.nets.activations import Sine
from engine.nets.layers import Bound, Init, Net, standard_net


def siren_bound(omega0: float) -> Bound:
    """SIREN's uniform weight bound for frequency scale ``omega0``."""

    def bound(fan_in: int, fan_out: int, first: bool) -> float:
        return 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega0

    return bound


def build(settings: Siren, n_inputs: int, n_outputs: int, init: Init) -> Net:
    """The SIREN of ``settings``."""
    act = Sine(settings.omega0)
    return standard_net(settings, nn.Identity(), n_inputs, n_inputs, n_outputs, act, init, siren_bound(settings.omega0))
