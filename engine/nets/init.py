"""Weight initialisations by config name (``nets.<NET>.init``): a registry of dense-layer schemes.

A scheme draws one dense layer's ``(weight (out, in), bias (out,))`` from a seeded generator.
``default`` is each architecture's own: Glorot uniform for the fully connected and Fourier
nets (Modulus' choice, what mtc always used), SIREN's scheme for ``siren``.

==================  =====================================================  ===============
name                weights                                                biases
==================  =====================================================  ===============
glorot_uniform      U(-sqrt(6/(in+out)), +sqrt(6/(in+out)))                0
glorot_normal       N(0, 2/(in+out)) (DeepXDE's "Glorot normal")           0
kaiming_uniform     U(-sqrt(6/in), +sqrt(6/in)) (He, gain sqrt 2)          0
torch               U(-1/sqrt(in), +1/sqrt(in)) (torch.nn.Linear's)        U(-1/sqrt(in), +1/sqrt(in))
siren               first layer U(-1/in, 1/in), others                     0
                    U(-sqrt(6/in)/omega0, +sqrt(6/in)/omega0)
==================  =====================================================  ===============
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

Layer = tuple[torch.Tensor, torch.Tensor]


class Draw(Protocol):
    """The random source a scheme draws from (:class:`engine.nets.layers.Init`)."""

    dtype: torch.dtype

    def uniform(self, shape: Sequence[int], bound: float) -> torch.Tensor: ...

    def normal(self, shape: Sequence[int], std: float) -> torch.Tensor: ...


Scheme = Callable[[Draw, int, int, bool], Layer]
"""``(draw, fan_in, fan_out, is_first_layer) -> (weight, bias)``."""


def _zeros(draw: Draw, fan_out: int) -> torch.Tensor:
    return torch.zeros(fan_out, dtype=draw.dtype)


def glorot_uniform(draw: Draw, fan_in: int, fan_out: int, first: bool) -> Layer:
    """Glorot/Xavier uniform weights, zero biases."""
    return draw.uniform((fan_out, fan_in), math.sqrt(6.0 / (fan_in + fan_out))), _zeros(draw, fan_out)


def glorot_normal(draw: Draw, fan_in: int, fan_out: int, first: bool) -> Layer:
    """Glorot/Xavier normal weights, zero biases."""
    return draw.normal((fan_out, fan_in), math.sqrt(2.0 / (fan_in + fan_out))), _zeros(draw, fan_out)


def kaiming_uniform(draw: Draw, fan_in: int, fan_out: int, first: bool) -> Layer:
    """He/Kaiming uniform weights (gain sqrt 2), zero biases."""
    return draw.uniform((fan_out, fan_in), math.sqrt(6.0 / fan_in)), _zeros(draw, fan_out)


def torch_default(draw: Draw, fan_in: int, fan_out: int, first: bool) -> Layer:
    """``torch.nn.Linear``'s own: weights and biases U(-1/sqrt(fan_in), +1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return draw.uniform((fan_out, fan_in), bound), draw.uniform((fan_out,), bound)


def siren(omega0: float) -> Scheme:
    """SIREN's scheme (Sitzmann et al. 2020) for frequency scale ``omega0``; biases start at zero."""

    def scheme(draw: Draw, fan_in: int, fan_out: int, first: bool) -> Layer:
        bound = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega0
        return draw.uniform((fan_out, fan_in), bound), _zeros(draw, fan_out)

    return scheme


INITIALISATIONS: dict[str, Callable[[Any], Scheme]] = {
    "default": lambda settings: scheme_for(settings, own_scheme(settings)),
    "glorot_uniform": lambda settings: glorot_uniform,
    "glorot_normal": lambda settings: glorot_normal,
    "kaiming_uniform": lambda settings: kaiming_uniform,
    "torch": lambda settings: torch_default,
    "siren": lambda settings: siren(settings.omega0),
}
"""``nets.<NET>.init`` name -> the scheme for a network's settings; the schema's choices
(``engine.config.schema.Initialisation``, torch-free) list the same names, ``siren`` for SIREN only."""

OWN = {"siren": "siren"}
"""Architectures whose ``default`` is not Glorot uniform."""


def own_scheme(settings: Any) -> str:
    """The name ``default`` means for ``settings.arch``."""
    return OWN.get(settings.arch, "glorot_uniform")


def scheme_for(settings: Any, name: str | None = None) -> Scheme:
    """The scheme that draws the layers of the network ``settings`` describes (``name`` overrides its ``init``)."""
    return INITIALISATIONS[name or settings.init](settings)
