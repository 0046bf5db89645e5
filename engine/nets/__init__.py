"""Neural network architectures for mtc's PINNs, built from a ``nets.<NET>`` config entry.

Every network maps ``(N, n_inputs) -> (N, n_outputs)``, is twice differentiable
w.r.t. its inputs (smooth activations; relu is allowed but has zero second
derivative) and works in float32 and float64.

Public API::

    build_network(config, n_inputs, n_outputs, *, seed=None, dtype=torch.float32) -> nn.Module
    architecture_signature(config) -> dict       # every architecture setting but `trainable`
    check_compatible(parent, child, *, name=None) -> None     # or MtcError naming what differs
    load_into(child, parent_state_dict, parent_config, child_config, *, name=None) -> None
    pad_state(value, param) -> value   # an optimizer state entry grown to a wider parameter
    ARCHITECTURES                                # arch name -> builder
    CorrectedNetwork(base, corrections, eps)     # base(x) + eps * corrections(x), base frozen
    correction_config(net_config, f_d)           # a correction network's config (Fourier features, sigma f_d)
    build_composed(spec, n_inputs, n_outputs)    # rebuild a (chain of) corrected network(s) from its spec

KAN networks: ``engine.nets.kan`` (the architecture), ``engine.nets.kan_ops`` (grid refit, pruning).
"""

from __future__ import annotations

from engine.config.compat import architecture_signature, check_compatible
from engine.nets.corrected import CorrectedNetwork, build_composed, correction_config, plain_spec
from engine.nets.registry import ARCHITECTURES, build_network
from engine.nets.widen import load_into, pad_state

__all__ = [
    "ARCHITECTURES",
    "CorrectedNetwork",
    "architecture_signature",
    "build_composed",
    "build_network",
    "check_compatible",
    "correction_config",
    "load_into",
    "pad_state",
    "plain_spec",
]
