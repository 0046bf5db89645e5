"""Function-preserving transfer of a parent's weights (and optimizer state) into an equal or wider child.

Relies on the layout of :mod:`engine.nets.layers`: new hidden units are appended
after the old ones.  The old block of every tensor is copied; weights from new
units into old units (``W[:old_out, old_in:]``) are zeroed, so old units - and the
output - compute exactly what the parent computed; new units keep the child's
fresh incoming weights and biases (drawn by its ``init``), so they can learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from engine.errors import MtcError
from engine.config.compat import check_compatible
from engine.nets.layers import Net
from engine.nets.registry import build_network


def load_into(
    child: Net,
    parent_state_dict: Mapping[str, torch.Tensor],
    parent_config: Mapping[str, Any],
    child_config: Mapping[str, Any],
    *,
    name: str | None = None,
) -> None:
    """Load ``parent_state_dict`` into ``child`` (built from ``child_config``) so its outputs equal the parent's.

    Raises :class:`MtcError` when ``child_config`` is neither the parent's
    architecture nor a widening of it, or when a state does not match its config
    (e.g. the problem's inputs or outputs changed).
    """
    check_compatible(parent_config, child_config, name=name)
    n_inputs, n_outputs = child.n_inputs, child.n_outputs
    prefix = f"nets.{name}: " if name else ""
    _check_shapes(parent_state_dict, _shapes(parent_config, n_inputs, n_outputs), f"{prefix}the parent's weights")
    fresh = child.state_dict()
    _check_shapes(fresh, _shapes(child_config, n_inputs, n_outputs), f"{prefix}the child network")
    with torch.no_grad():
        child.load_state_dict({key: _grow(parent_state_dict[key], tensor) for key, tensor in fresh.items()})


def _shapes(config: Mapping[str, Any], n_inputs: int, n_outputs: int) -> dict[str, torch.Size]:
    """The state_dict shapes of ``config``'s network, built on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        state = build_network(config, n_inputs, n_outputs, seed=0).state_dict()
    return {key: value.shape for key, value in state.items()}


def _check_shapes(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Size], what: str) -> None:
    if set(state) != set(expected):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise MtcError(f"{what} do not match its config: missing {missing}, unexpected {extra}")
    for key, shape in expected.items():
        if state[key].shape != shape:
            raise MtcError(
                f"{what} do not match its config: {key} has shape {tuple(state[key].shape)}, expected {tuple(shape)} "
                "(did the problem's inputs or outputs change?)"
            )


def _corner(shape: torch.Size) -> tuple[slice, ...]:
    return tuple(slice(0, size) for size in shape)


def _grow(old: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """``fresh`` with ``old`` in its leading corner and, for a weight, zero weights from new into old units."""
    grown = fresh.clone()
    if old.dim() == 2:
        grown[: old.shape[0], old.shape[1] :] = 0
    grown[_corner(old.shape)] = old.to(grown)
    return grown


def pad_state(value: Any, param: torch.Tensor) -> Any:
    """An optimizer state entry for ``param``: old block kept, new entries zero."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.dim() == 0 or value.shape == param.shape:
        return value.clone()
    if value.dim() != param.dim() or any(a > b for a, b in zip(value.shape, param.shape)):
        raise MtcError(
            f"optimizer state of shape {tuple(value.shape)} cannot be carried to "
            f"a parameter of shape {tuple(param.shape)}"
        )
    padded = torch.zeros(param.shape, dtype=value.dtype, device=value.device)
    padded[_corner(value.shape)] = value
    return padded
