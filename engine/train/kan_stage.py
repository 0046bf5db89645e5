"""KAN networks in a stage: inputs mapped from the problem's ranges, grid-extension children, prune stages.

* A fresh KAN with ``grid_range`` null maps each input's range over the problem's subdomains
  onto its first grid (:func:`cover_problem_inputs`).
* A child continues its parent's KAN with the parent's built shape (a pruned parent's
  ``width``) and, when its ``grid`` is larger, the splines refitted on the finer grid
  (:func:`continue_kan`); the optimizer state of a reshaped network starts afresh.
* A ``prune`` stage continues its parent, then removes the hidden nodes and edges whose
  activations on a batch of the stage's points are below ``node_th``/``edge_th``
  (:func:`prune_networks`); its record holds the shapes before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..compile import compile_problem
from ..errors import MtcError
from ..nets import build_network, plain_spec
from ..nets.kan import KanNet
from ..nets.kan_ops import built_widths, prune, refine_state, shape_of
from ..problem import Problem
from ..results.grid import value_ranges
from .sparsity import network_inputs
from .terms import build_terms

PRUNE_BATCH_SEED = 7919
"""Offset of the seed that draws a prune stage's importance batch (the stage's own streams stay untouched)."""


def is_kan(config: Mapping[str, Any]) -> bool:
    """Whether a ``nets.<NET>`` config is a KAN."""
    return config.get("arch") == "kan"


def cover_problem_inputs(problem: Problem, name: str, module: torch.nn.Module, config: Mapping[str, Any]) -> None:
    """Map a fresh KAN's inputs from their ranges over the problem's subdomains (``grid_range`` null)."""
    if isinstance(module, KanNet) and config.get("grid_range") is None:
        ranges = value_ranges(problem)
        module.cover_inputs([ranges.get(v) for v in problem.networks[name].inputs])


def continue_kan(
    name: str, config: Mapping[str, Any], parent: Mapping[str, Any], state: Mapping[str, torch.Tensor],
    n_inputs: int, n_outputs: int, dtype: torch.dtype,
) -> tuple[KanNet, dict[str, Any]]:
    """The child's KAN from its parent's ``state`` (built from ``parent``): same shape, grid refined if finer.

    Returns the module and the config it was built from (``width`` as the parent built it).
    """
    if not is_kan(parent):
        raise MtcError(f"nets.{name}: the parent's network is {parent.get('arch')}, not a KAN; start a new training branch")
    built = {**config, "width": built_widths(parent)}
    old_grid, new_grid = parent.get("grid", 5), built.get("grid", 5)
    if new_grid % old_grid:
        raise MtcError(f"nets.{name}: grid {old_grid} -> {new_grid}: a child's grid must be a multiple of its parent's")
    if new_grid != old_grid:
        state = refine_state(state, old_grid, new_grid, built.get("spline_order", 3))
    module = build_network(built, n_inputs, n_outputs, seed=0, dtype=dtype)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise MtcError(f"nets.{name}: the parent's KAN does not fit the child's settings: {str(exc).splitlines()[0]}") from None
    return module, built


def reshaped(parent_specs: Mapping[str, Any], specs: Mapping[str, Any]) -> set[str]:
    """The KANs whose parameters changed shape from the parent's to the child's (their optimizer state cannot carry)."""
    return {
        name for name, spec in specs.items()
        if spec["kind"] == "net" and is_kan(spec["config"]) and parent_specs.get(name, {}).get("kind") == "net"
        and (built_widths(parent_specs[name]["config"]), parent_specs[name]["config"].get("grid"))
        != (built_widths(spec["config"]), spec["config"].get("grid"))
    }  # fmt: skip


def without_optimizer_state(saved: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    """``saved`` with the optimizer state of the networks ``names`` dropped."""
    if not names:
        return dict(saved)
    optimizer = dict(saved["optimizer"])
    optimizer["state"] = {k: v for k, v in optimizer.get("state", {}).items() if k.split(".", 1)[0] not in names}
    return {**saved, "optimizer": optimizer}


def importance_points(problem: Problem, config: Mapping[str, Any], dtype: torch.dtype, device: torch.device) -> list[dict[str, torch.Tensor]]:
    """One batch per included constraint and data constraint, drawn with its batch size from its own seed."""
    rng = np.random.default_rng(config["training"]["seed"] + PRUNE_BATCH_SEED)
    terms = build_terms(problem, compile_problem(problem), config, rng)
    return [term.columns(dtype, device) for term in terms]


def prune_networks(
    problem: Problem,
    config: Mapping[str, Any],
    modules: dict[str, torch.nn.Module],
    specs: dict[str, Any],
    dtype: torch.dtype,
    device: torch.device,
) -> dict[str, Any]:
    """Prune every trainable KAN of ``modules`` in place (specs updated); returns ``{net: {before, after}}``."""
    batches = importance_points(problem, config, dtype, device)
    record: dict[str, Any] = {}
    for name, module in list(modules.items()):
        settings = config["nets"][name]
        if not isinstance(module, KanNet) or not settings["trainable"]:
            continue
        x = network_inputs(batches, problem.networks[name].inputs)
        if x is None:
            raise MtcError(f"prune stage: no included constraint samples the inputs of nets.{name}; include one")
        before = shape_of(module)
        pruned, built = prune(module, specs[name]["config"], x, settings["node_th"], settings["edge_th"], name=name)
        pruned.requires_grad_(True)
        modules[name], specs[name] = pruned, plain_spec(built)
        record[name] = {"before": before, "after": shape_of(pruned), "node_th": settings["node_th"], "edge_th": settings["edge_th"]}
    return record

