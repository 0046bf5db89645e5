"""The networks of a stage: built from its config, started from a checkpoint, bound to the problem.

A checkpoint stores each network's ``state_dict`` and, under ``composition``, how to
rebuild it (:mod:`engine.nets.corrected`): a plain network, or a frozen base plus
``eps``-scaled correction networks. Checkpoints written before correction stages
existed have no ``composition``; their networks are plain ones of ``net_configs``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from ..compile import NetworkBinding
from ..compile.hard_outputs import with_hard_outputs
from ..errors import MtcError
from ..nets import CorrectedNetwork, build_composed, build_network, correction_config, load_into, plain_spec
from ..nets.corrected import sub_state
from ..problem import Problem
from ..problem.hard import HardRefusal, hard_conditions
from .kan_stage import continue_kan, cover_problem_inputs, is_kan

Spec = dict[str, Any]


def build_networks(problem: Problem, nets: Mapping[str, Any], seed: int, dtype: torch.dtype, device: torch.device) -> dict[str, torch.nn.Module]:
    """One module per network of the problem, deterministic for ``seed`` (a KAN's inputs mapped from their ranges)."""
    modules = {
        name: build_network(nets[name], len(net.inputs), len(net.outputs), seed=seed + i, dtype=dtype)
        for i, (name, net) in enumerate(problem.networks.items())
    }
    for name, module in modules.items():
        cover_problem_inputs(problem, name, module, nets[name])
    return {name: module.to(device) for name, module in modules.items()}


def saved_specs(saved: Mapping[str, Any]) -> dict[str, Spec]:
    """How each network of a checkpoint is composed (plain networks for old checkpoints)."""
    specs = {name: plain_spec(config) for name, config in saved["net_configs"].items()}
    specs.update(saved.get("composition") or {})
    return {name: specs[name] for name in saved["networks"] if name in specs}


def plain_specs(nets: Mapping[str, Any], names: Any) -> dict[str, Spec]:
    """Specs of ordinary networks for ``names`` from a stage's ``nets`` config."""
    return {name: plain_spec(nets[name]) for name in names}


def restore_networks(
    problem: Problem,
    saved: Mapping[str, Any],
    dtype: torch.dtype,
    device: torch.device,
    trainable: Mapping[str, bool] | None = None,
) -> tuple[dict[str, torch.nn.Module], dict[str, Spec]]:
    """Rebuild every network of ``problem`` exactly as the checkpoint ``saved`` holds it.

    ``trainable`` (network -> bool) sets which networks train; by default all are frozen
    (inference, or the frozen parent of a correction stage). Returns modules and specs.
    """
    specs = saved_specs(saved)
    modules = {}
    for name, net in problem.networks.items():
        if name not in specs:
            raise MtcError(f"the checkpoint has no network {name!r}, which problem.py defines")
        module = build_composed(specs[name], len(net.inputs), len(net.outputs), dtype=dtype)
        try:
            module.load_state_dict(saved["networks"][name])
        except RuntimeError as exc:
            raise MtcError(
                f"network {name!r} of the checkpoint does not match problem.py (did its inputs or outputs change?): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        module.requires_grad_(bool(trainable and trainable.get(name)))
        modules[name] = module.to(device)
    return modules, {name: specs[name] for name in problem.networks}


def start_from(modules: Mapping[str, torch.nn.Module], nets: Mapping[str, Any], saved: Mapping[str, Any]) -> list[str]:
    """Load a checkpoint's plain networks into ``modules`` (widening where the config is wider).

    Returns the networks the checkpoint did not have (they keep their fresh weights).
    """
    fresh = []
    for name, module in modules.items():
        if name not in saved["networks"]:
            fresh.append(name)
            continue
        load_into(module, saved["networks"][name], saved["net_configs"][name], nets[name], name=name)
    return fresh


def continue_networks(
    problem: Problem, nets: Mapping[str, Any], saved: Mapping[str, Any], seed: int, dtype: torch.dtype, device: torch.device
) -> tuple[dict[str, torch.nn.Module], dict[str, Spec]]:
    """A standard child's networks: its parent's, widened where the child's config is wider.

    A KAN keeps its parent's built shape (a pruned parent's widths) and has its splines
    refitted where the child's ``grid`` is finer (:mod:`engine.train.kan_stage`).

    A network the parent had corrected keeps its frozen base and ``eps``; its correction
    networks continue (and may widen) with the child's ``nets.<NET>`` settings.
    """
    modules = build_networks(problem, nets, seed, dtype, device)
    specs = plain_specs(nets, problem.networks)
    parent_specs = saved_specs(saved)
    plain = {name: m for name, m in modules.items() if parent_specs.get(name, {"kind": "net"})["kind"] == "net"}
    kans = {name for name in plain if name in saved["networks"] and is_kan(nets[name])}
    start_from({name: m for name, m in plain.items() if name not in kans}, nets, saved)
    for name in kans:
        net = problem.networks[name]
        module, built = continue_kan(
            name, nets[name], parent_specs[name]["config"], saved["networks"][name], len(net.inputs), len(net.outputs), dtype
        )
        modules[name] = module.requires_grad_(nets[name]["trainable"]).to(device)
        specs[name] = plain_spec(built)
    for name, net in problem.networks.items():
        spec = parent_specs.get(name)
        if spec is None or spec["kind"] == "net":
            continue
        state = saved["networks"][name]
        base = build_composed(spec["base"], len(net.inputs), len(net.outputs), dtype=dtype)
        base.load_state_dict(sub_state(state, "base"))
        corrections = []
        configs = []
        for i, (old, f_d) in enumerate(zip(spec["corrections"], spec["f_d"])):
            config = correction_config(nets[name], f_d)
            correction = build_network(config, len(net.inputs), 1, seed=seed + 101 * i, dtype=dtype)
            load_into(correction, sub_state(state, f"corrections.{i}"), old, config, name=name)
            corrections.append(correction)
            configs.append(config)
        module = CorrectedNetwork(base, corrections, spec["eps"]).requires_grad_(nets[name]["trainable"])
        modules[name] = module.to(device)
        specs[name] = {**spec, "corrections": configs}
    return modules, specs


def bind(problem: Problem, modules: Mapping[str, torch.nn.Module], hard: Sequence[str] = ()) -> dict[str, NetworkBinding]:
    """The compile layer's view of the networks: inputs, outputs and module.

    ``hard`` names the constraints imposed exactly: the outputs they constrain are evaluated
    as ``g + phi * module`` (:mod:`engine.compile.hard_outputs`).
    """
    try:
        conditions = hard_conditions(problem, hard)
    except HardRefusal as exc:
        raise MtcError(f"constraints.{exc.constraint}.hard: {exc.constraint!r} cannot be imposed exactly: {exc.reason}") from None
    return {
        name: NetworkBinding(net.inputs, net.outputs, with_hard_outputs(modules[name], net.inputs, net.outputs, conditions))
        for name, net in problem.networks.items()
    }
