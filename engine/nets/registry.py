"""Architecture names -> builders, config normalisation, and :func:`build_network`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from engine.config.compat import net_settings
from engine.errors import MtcError
from engine.nets import fourier, fully_connected, kan, modified_fourier, siren
from engine.nets.init import scheme_for
from engine.nets.layers import Init, Net

Builder = Callable[[Any, int, int, Init], Net]

ARCHITECTURES: dict[str, Builder] = {
    "fully_connected": fully_connected.build,
    "fourier": fourier.build,
    "modified_fourier": modified_fourier.build,
    "siren": siren.build,
    "kan": kan.build,
}

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def build_network(
    config: Mapping[str, Any],
    n_inputs: int,
    n_outputs: int,
    *,
    seed: int | None = None,
    dtype: torch.dtype | str = torch.float32,
) -> Net:
    """A freshly initialised ``(N, n_inputs) -> (N, n_outputs)`` network for ``config``.

    Deterministic for a given ``seed`` (a local generator; ``None`` draws a fresh one); dense layers
    are drawn by the scheme ``nets.<NET>.init`` names (:mod:`engine.nets.init`).
    ``dtype`` is ``torch.float32``/``torch.float64`` or ``"float32"``/``"float64"``.
    A config with ``trainable: false`` gives a network whose parameters do not require grad.
    """
    settings = net_settings(config)
    if n_inputs < 1 or n_outputs < 1:
        raise MtcError(f"a network needs at least one input and one output, not {n_inputs} -> {n_outputs}")
    dtype = _DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if dtype not in _DTYPES.values():
        raise MtcError(f"network precision must be float32 or float64, not {dtype}")
    net = ARCHITECTURES[settings.arch](settings, n_inputs, n_outputs, Init(seed, dtype, scheme_for(settings)))
    return net.requires_grad_(settings.trainable)
