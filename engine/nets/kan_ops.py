"""What a child stage does to its parent's KAN: refine the grid (grid extension) or prune it.

Both act beside :mod:`engine.nets.widen` (the widening of MLP-type networks): grid extension
refits each edge's spline on the finer grid by least squares (:func:`refine_state`; exact,
since a child's grid is a multiple of its parent's and the old knots are among the new ones);
pruning measures every edge's mean ``|phi|`` on a batch of points and removes hidden nodes
whose largest incoming or outgoing edge is below ``node_th`` and edges below ``edge_th``
(Liu et al. 2024, section 2.5.1), giving a smaller KAN whose ``width`` records its shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from engine.errors import MtcError
from engine.nets.bsplines import refit_matrix
from engine.nets.kan import KanNet, hidden_widths
from engine.config.compat import net_settings
from engine.nets.registry import build_network


def refine_state(state: Mapping[str, torch.Tensor], old_grid: int, new_grid: int, order: int) -> dict[str, torch.Tensor]:
    """``state`` of a KAN on ``old_grid`` with every spline refitted on ``new_grid`` (other entries unchanged)."""
    transfer = refit_matrix(old_grid, new_grid, order)
    return {
        key: torch.einsum("pb,iob->iop", transfer.to(value), value) if key.endswith(".coef") else value
        for key, value in state.items()
    }


def active_parameters(net: KanNet) -> int:
    """Parameters that still act: each unmasked edge's spline coefficients and two scales, and the biases."""
    return sum(int(layer.mask.sum().item()) * (layer.coef.shape[-1] + 2) + layer.bias.numel() for layer in net.layers)


def shape_of(net: KanNet) -> dict[str, Any]:
    """Hidden widths, edges and active parameters of ``net``, for the stage's record."""
    return {
        "width": [layer.coef.shape[1] for layer in net.layers[:-1]],
        "edges": sum(int(layer.mask.sum().item()) for layer in net.layers),
        "parameters": active_parameters(net),
    }


def prune(
    net: KanNet, config: Mapping[str, Any], x: torch.Tensor, node_th: float, edge_th: float, *, name: str = "<NET>"
) -> tuple[KanNet, dict[str, Any]]:
    """A smaller KAN without ``net``'s unimportant hidden nodes and edges on the batch ``x``, and its config.

    The config is ``config`` with ``width`` set to the kept widths. Raises :class:`MtcError`
    when a hidden layer would lose every node.
    """
    with torch.no_grad():
        scales = net.edge_scales(x)
    keep = [torch.arange(net.n_inputs)]
    for depth, (incoming, outgoing) in enumerate(zip(scales[:-1], scales[1:]), start=1):
        important = (incoming.max(dim=0).values > node_th) & (outgoing.max(dim=1).values > node_th)
        if not important.any():
            raise MtcError(
                f"pruning nets.{name} with node_th={node_th} removes every node of hidden layer {depth}: "
                f"lower nets.{name}.node_th (its nodes' largest edge activation is "
                f"{float(torch.minimum(incoming.max(dim=0).values, outgoing.max(dim=1).values).max()):.3g})"
            )
        keep.append(torch.nonzero(important).flatten())
    keep.append(torch.arange(net.n_outputs))
    pruned_config = {**config, "width": [len(k) for k in keep[1:-1]]}
    pruned = build_network(pruned_config, net.n_inputs, net.n_outputs, seed=0, dtype=net.input_low.dtype)
    with torch.no_grad():
        pruned.input_low.copy_(net.input_low)
        pruned.input_high.copy_(net.input_high)
        for old, new, scale, rows, cols in zip(net.layers, pruned.layers, scales, keep[:-1], keep[1:]):
            for key in ("coef", "scale_base", "scale_spline", "mask"):
                getattr(new, key).copy_(getattr(old, key)[rows][:, cols])
            new.bias.copy_(old.bias[cols])
            new.mask[scale[rows][:, cols] < edge_th] = 0
    return pruned.to(x.device), pruned_config


def built_widths(config: Mapping[str, Any]) -> list[int]:
    """The hidden widths a KAN config builds."""
    return hidden_widths(net_settings(config))  # type: ignore[arg-type]
