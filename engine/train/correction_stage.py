"""Start a correction stage: freeze the parent's model, measure its residual, add ``eps * u_corr`` per output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import torch

from ..compile import compile_problem
from ..config import hard_constraints, total_steps
from ..errors import MtcError
from ..kinds import float32_warning
from ..nets import CorrectedNetwork, build_network, correction_config
from ..nets.corrected import depth
from ..problem import Problem
from ..problem.hard import distance_rms, hard_conditions
from .correction import Probe, estimate_corrections, plan_probes
from .correction_batch import batch_sizes
from .correction_weights import constraint_weights
from .networks import bind, restore_networks
from .unknowns import with_values

if TYPE_CHECKING:
    from .stage import StagePlan


def parent_finished(saved: Mapping[str, Any]) -> bool:
    """Whether a checkpoint is the end of its stage (all steps, or its target loss reached)."""
    if "finished" in saved:
        return bool(saved["finished"])
    return saved["step"] >= total_steps(saved["config"]["training"])  # written before the flag existed


def check_correctable(problem: Problem, stage: str) -> None:
    """A correction needs network outputs to correct."""
    if not any(net.outputs for net in problem.networks.values()):
        raise MtcError(
            f"stage {stage!r} is a correction stage, but problem.py defines no neural network outputs: "
            "there is nothing to correct (add a network with p.add_neural_network)"
        )


def check_same_hard(plan: "StagePlan", config: Mapping[str, Any], saved: Mapping[str, Any]) -> list[str]:
    """The constraints imposed exactly, which a correction must share with its parent (it corrects that model)."""
    mine, parents = hard_constraints(config), hard_constraints(saved["config"])
    if sorted(mine) != sorted(parents):
        raise MtcError(
            f"correction stage {plan.stage!r} imposes {sorted(mine) or 'no constraint'} exactly (hard=true) but its "
            f"parent {plan.parent!r} imposes {sorted(parents) or 'none'}: a correction adds to its parent's model, "
            "so set constraints.<C>.hard as in the parent (or start a standard child)"
        )
    return mine


def add_corrections(
    plan: "StagePlan",
    problem: Problem,
    config: Mapping[str, Any],
    saved: Mapping[str, Any],
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[dict[str, torch.nn.Module], dict[str, Any], dict[str, Any]]:
    """The correction stage's modules and specs, and the record of what it computed.

    Each network the stage trains (``nets.<NET>.trainable``) becomes ``parent + eps * u_corr``
    with one Fourier-feature correction network per output (for an output with hard boundary
    values, whose correction is multiplied by phi, ``eps / RMS(phi)``); the others stay the parent's,
    frozen. ``saved`` is the parent's checkpoint, which must be the end of the parent's training.
    Unknown constants (``p.add_unknown``) are the parent's best estimates: the residuals that size
    the corrections are measured with the parent's learned values; the stage then starts from those
    values and trains them as ``unknowns.<k>.trainable`` says (as any child does).
    """
    check_correctable(problem, plan.stage)
    if not parent_finished(saved):
        total = total_steps(saved["config"]["training"])
        raise MtcError(
            f"stage {plan.stage!r} corrects {plan.parent!r}, which never finished (its checkpoint is at step "
            f"{saved['step']} of {total}): the correction is computed from the parent's final residual, so "
            f"train {plan.parent!r} to the end first (`mtc train --stage {plan.parent}`)"
        )
    nets, training = config["nets"], config["training"]
    hard = check_same_hard(plan, config, saved)
    base, base_specs = restore_networks(problem, saved, dtype, device)
    corrected = [name for name in problem.networks if nets[name]["trainable"]]
    outputs = [out for name in corrected for out in problem.networks[name].outputs]
    parents_unknowns = dict(saved.get("unknowns") or {})
    measured = with_values(problem, parents_unknowns)
    estimates = estimate_corrections(
        measured, compile_problem(measured), bind(measured, base, hard), config, outputs, dtype, device, training["seed"]
    )
    weights = constraint_weights(estimates)
    batches = batch_sizes(estimates, config, saved["config"])
    conditions = hard_conditions(problem, hard)
    modules: dict[str, torch.nn.Module] = {}
    specs: dict[str, Any] = {}
    record_outputs: dict[str, Any] = {}
    for index, (name, net) in enumerate(problem.networks.items()):
        if name not in corrected:
            modules[name], specs[name] = base[name], base_specs[name]
            continue
        level = depth(base_specs[name]) + 1
        found = [estimates[out] for out in net.outputs]
        configs = [correction_config(nets[name], e.f_d) for e in found]
        networks = [
            build_network(c, len(net.inputs), 1, seed=training["seed"] + 1000 * level + 10 * index + i, dtype=dtype)
            for i, c in enumerate(configs)
        ]
        phi = [distance_rms(problem, conditions, e.output) for e in found]  # 1 for an output without hard conditions
        scales = [e.eps / p for e, p in zip(found, phi)]
        module = CorrectedNetwork(base[name], networks, scales).requires_grad_(True)
        modules[name] = module.to(device)
        specs[name] = {
            "kind": "corrected", "base": base_specs[name], "corrections": configs,
            "eps": scales, "f_d": [e.f_d for e in found], "stage": plan.stage,
        }  # fmt: skip
        for e, p in zip(found, phi):
            record_outputs[e.output] = {"network": name, "level": level, **e.to_json(), **({"phi_rms": p} if p != 1.0 else {})}
    warnings = [float32_warning(plan.stage)] if training["precision"] != "float64" else []
    record = {
        "parent": plan.parent,
        "outputs": record_outputs,
        "weights": {name: weight.to_json() for name, weight in weights.items()},
        "batch": {name: size.to_json() for name, size in batches.items()},  # engine.train.correction_batch
        "uncorrected": [name for name in problem.networks if name not in corrected],
        "precision": training["precision"],
        "warnings": warnings,
        "unknowns": parents_unknowns,  # the values its residuals were measured with, where the stage's start
    }
    return modules, specs, record


def guard_probes(problem: Problem, config: Mapping[str, Any], unknowns: Mapping[str, float], record: Mapping[str, Any]) -> list[Probe]:
    """Where a correction stage's guard measures the implied error: the points its start measured the
    parent on (same config and seed), with the stage's current unknown values."""
    measured = with_values(problem, unknowns)
    outputs = list(record.get("outputs", {}))
    return plan_probes(measured, compile_problem(measured), config, outputs, config["training"]["seed"])
