"""SIREN (Sitzmann et al. 2020): ``sin(omega0 * (W h + b))`` layers, linear output.

Its own initialisation (``init=default`` or ``siren``, :func:`engine.nets.init.siren`):
first-layer weights ~ U(-1/n, 1/n), all others ~ U(-sqrt(6/n)/omega0, sqrt(6/n)/omega0),
n = fan-in, biases zero.
"""

from __future__ import annotations

from torch import nn

from engine.config.schema import Siren
from engine.nets.activations import Sine
from engine.nets.layers import Init, Net, standard_net


def build(settings: Siren, n_inputs: int, n_outputs: int, init: Init) -> Net:
    """The SIREN of ``settings``."""
    return standard_net(settings, nn.Identity(), n_inputs, n_inputs, n_outputs, Sine(settings.omega0), init)
