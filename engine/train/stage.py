"""Train one stage from its stored config: set everything up, resume or start from the parent, run the loop."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..compile import compile_problem
from ..config import ConfigError, hard_constraints, validate_config
from ..config.balancing import balancing_warning
from ..config.schema import LBFGS, LM
from ..errors import MtcError
from ..kinds import precision_warning
from ..layout import stage_folder
from ..problem import Problem, load_problem
from .adaptive import adapt_terms
from .balancing import build_balancer
from .checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from .device import resolve_device, resolve_dtype
from .correction_batch import sized_config
from .correction_guard import SCALES, guard_corrections
from .correction_stage import add_corrections, guard_probes
from .correction_weights import weighted_config
from .finish_resampling import finish_resampling
from .loop import Hooks, LoopState, LossRow, Outcome, draw_batches, run_loop
from .kan_stage import prune_networks, reshaped, without_optimizer_state
from .loss_rows import logging_values
from .loss_step import install
from .networks import bind, build_networks, continue_networks, plain_specs, restore_networks, saved_specs
from .sparsity import build_sparsity
from .optim import build_optimizer, build_scheduler, resume_scheduler
from .optim.gauss_newton import size_refusal
from .optim_state import named_trainable, restore, snapshot
from .plateau import PlateauWatch
from .terms import build_terms
from .time_budget import Clock, TimeBudget
from .unknowns import KEY as UNKNOWNS, build_unknowns, logging_unknowns, stage_optimizer, with_unknowns


@dataclass(frozen=True)
class StagePlan:
    """What to train: a stage of a project, from scratch, from its parent, or resumed.

    ``kind`` is the stage's kind: ``standard`` continues from the parent's weights,
    ``correction`` adds ``eps``-scaled correction networks to the frozen parent, ``prune``
    continues from the parent's KANs with their small nodes and edges removed.
    """

    project: Path
    stage: str
    config: dict[str, Any]
    parent: str | None = None
    resume: bool = False
    device: str | None = None
    kind: str = "standard"


def _ignore(*args: Any) -> None:
    return None


@dataclass(frozen=True)
class StageHooks:
    """The outside world of a running stage: where loss rows go, when to stop, what follows a checkpoint."""

    log: Callable[[list[LossRow]], None] = _ignore
    stop_requested: Callable[[], bool] = lambda: False
    checkpointed: Callable[[int, Path], None] = _ignore
    started: Callable[[int], None] = _ignore
    flush: Callable[[], None] = _ignore  # called before each checkpoint, so no logged row predates a lost one
    corrected: Callable[[dict[str, Any]], None] = _ignore  # a correction stage's eps/f_d, once they are known
    warn: Callable[[str], None] = _ignore
    stopped: Callable[[str], None] = _ignore  # why a stage ended early as done (stop on plateau, time budget)
    info: Callable[[str], None] = _ignore  # a line for the stage log (which derivative path, and why)
    clock: Clock = time.monotonic  # what training.max_time counts (wall time; benchmarks/precision.py: CPU time)


def checked_config(problem: Problem, plan: StagePlan) -> dict[str, Any]:
    """The stage's config, refused with the mismatch named if problem.py no longer fits it."""
    try:
        return validate_config(plan.config, problem.outline())
    except ConfigError as exc:
        raise MtcError(
            f"stage {plan.stage!r} no longer matches problem.py ({exc}): run `mtc init-conf` to merge the configs "
            "(a stage that has run keeps its settings: revert problem.py, or train a new child or branch)"
        ) from None


def _networks(
    plan: StagePlan, problem: Problem, config: dict[str, Any], dtype: torch.dtype, device: torch.device
) -> tuple[dict[str, torch.nn.Module], dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """The stage's modules, their composition specs, the checkpoint they came from, and the correction record."""
    nets, seed = config["nets"], config["training"]["seed"]
    trainable = {name: settings["trainable"] for name, settings in nets.items()}
    if plan.resume:
        saved = load_checkpoint(stage_folder(plan.project, plan.stage), plan.stage)
        modules, specs = restore_networks(problem, saved, dtype, device, trainable)
        return modules, specs, saved, saved.get("correction")
    if plan.parent is None:
        if plan.kind == "correction":
            raise MtcError(f"correction stage {plan.stage!r} has no parent: it corrects its parent stage's model")
        return build_networks(problem, nets, seed, dtype, device), plain_specs(nets, problem.networks), None, None
    saved = load_checkpoint(stage_folder(plan.project, plan.parent), plan.parent)
    if plan.kind == "correction":
        modules, specs, record = add_corrections(plan, problem, config, saved, dtype, device)
        return modules, specs, None, record
    modules, specs = continue_networks(problem, nets, saved, seed, dtype, device)
    record = None
    if plan.kind == "prune":
        record = {"pruned": prune_networks(problem, config, modules, specs, dtype, device), "weights": loss_factors(None, saved)}
    return modules, specs, without_optimizer_state(saved, reshaped(saved_specs(saved), specs)), record


def _finishers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Settings of the finishing optimizers: the stage's own when it uses that optimizer, else the defaults."""
    own = config["optimizer"]
    return {
        name: own if own["name"] == name else model().model_dump(mode="json")
        for name, model in (("lbfgs", LBFGS), ("lm", LM))
    }


def loss_factors(correction: dict[str, Any] | None, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The constraint weight factors of a correction stage (engine.train.correction_weights): computed
    when it starts, kept when it resumes, and carried on to the standard children that continue its
    correction networks."""
    if correction is not None:
        return correction.get("weights", {})
    return (saved or {}).get("correction_weights") or {}


def prepare(plan: StagePlan, hooks: StageHooks) -> tuple[LoopState, Hooks, dict[str, Any]]:
    """Build networks, optimizer, scheduler and loss terms; load the checkpoint to start from.

    Returns the loop state, the loop's hooks (saving writes this stage's checkpoint) and the
    validated config.
    """
    began = hooks.clock()  # training.max_time counts the preparation too
    problem = load_problem(plan.project)
    config = checked_config(problem, plan)
    training = config["training"]
    budget = TimeBudget(training["max_time"], hooks.stopped, hooks.clock, began)
    device = resolve_device(plan.device or training["device"])
    dtype = resolve_dtype(training["precision"])
    rng = np.random.default_rng(training["seed"])
    torch.manual_seed(training["seed"])
    for warning in filter(None, (precision_warning(plan.stage, plan.kind, config), balancing_warning(plan.stage, config))):
        hooks.warn(warning)
    opened = hooks.clock()
    modules, specs, saved, correction = _networks(plan, problem, config, dtype, device)
    if correction is not None:
        if not plan.resume:  # the guard measures once per scale what the start measured once
            budget.reserve = len(SCALES) * (hooks.clock() - opened)
        hooks.corrected(correction)
    factors = loss_factors(correction, saved)
    unknowns = build_unknowns(problem, config, saved or correction, dtype, device)  # a correction: its parent's
    params = named_trainable({**modules, UNKNOWNS: unknowns})
    if not params:
        raise MtcError(f"every network of stage {plan.stage!r} is frozen: set nets.<NET>.trainable=true for one")
    kind = config["optimizer"]["name"]
    finishers = _finishers(config)
    if training["then_lm_steps"]:
        refusal = size_refusal("lm", finishers["lm"], sum(p.numel() for p in params.values()))
        if refusal:
            raise MtcError(f"training.then_lm_steps of stage {plan.stage!r}: {refusal}")
    optimizer = stage_optimizer(build_optimizer, params, unknowns, config)
    scheduler = build_scheduler(config["scheduler"], optimizer, training["max_steps"])
    bindings = bind(problem, modules, hard_constraints(config))
    trained = sized_config(config, (correction or {}).get("batch", {}))  # a correction's batch, sized at its start
    terms = with_unknowns(build_terms(problem, compile_problem(problem), weighted_config(trained, factors), rng), unknowns)
    terms, adaptive = adapt_terms(problem, trained, terms, bindings, rng, dtype, device)
    state = LoopState(
        bindings=bindings,
        parameters=list(params.values()),
        optimizer=optimizer,
        scheduler=scheduler,
        terms=terms,
        dtype=dtype,
        device=device,
        optimizer_kind=kind,
        finishers=finishers,
        named=params,
        penalties=build_sparsity(problem, modules, config["nets"]),
        resampling=finish_resampling(plan.kind, training),
    )
    resumed = saved if plan.resume and saved is not None else {}
    state.balancer = build_balancer(training, state.terms, resumed.get("balancing"))
    state.plateau = PlateauWatch(training, hooks.stopped)
    if resumed.get("plateau"):
        state.plateau.load_state_dict(resumed["plateau"])
    state.budget = budget
    if resumed.get("time_budget"):
        budget.load_state_dict(resumed["time_budget"])
    if saved is not None:
        restore(optimizer, kind, params, saved["optimizer"])
        state.carried = saved["optimizer"] if plan.resume else None
    if plan.resume and saved is not None:
        resume_scheduler(scheduler, optimizer, saved["scheduler"])
        restore_rng(rng, saved["rng"])
        state.start_step, state.elapsed = saved["step"], saved["elapsed"]
        if adaptive is not None:
            adaptive.restore(saved.get("adaptive"))
    points = sum(c["batch_size"] for c in [*trained["constraints"].values(), *trained["data"].values()] if c["include"])
    install(state, training, rng, hooks, lambda: draw_batches(state), points)

    def save(step: int, elapsed: float, finished: bool = False) -> None:
        if finished and plan.kind == "correction" and correction is not None:
            probes = guard_probes(problem, config, unknowns.numbers(), correction)
            hooks.info(guard_corrections(state, modules, correction, probes))
            hooks.corrected(correction)
        hooks.flush()
        path = save_checkpoint(
            stage_folder(plan.project, plan.stage),
            {
                "step": step,
                "elapsed": elapsed,
                "finished": finished,
                "kind": plan.kind,
                "networks": {name: module.state_dict() for name, module in modules.items()},
                "net_configs": config["nets"],
                "composition": specs,
                "correction": correction,
                "correction_weights": factors,
                "optimizer": snapshot(state.optimizer, state.optimizer_kind, params),
                "scheduler": scheduler.state_dict(),
                "rng": rng_state(rng),
                "config": config,
                "unknowns": unknowns.numbers(),
                "balancing": state.balancer.state_dict(),
                "plateau": state.plateau.state_dict(),
                "time_budget": state.budget.state_dict(),
                "adaptive": adaptive.state() if adaptive is not None else None,  # the adaptive sampler's points
            },
        )
        hooks.checkpointed(step, path)

    log = logging_unknowns(hooks.log, unknowns)
    if training["loss_balancing"] != "none":
        log = logging_values(log, state.balancer.effective)
    return state, Hooks(log=log, save=save, stop_requested=hooks.stop_requested), config


def train_stage(plan: StagePlan, hooks: StageHooks | None = None) -> Outcome:
    """Train ``plan.stage`` to its max_steps (or target loss, or until stopped)."""
    hooks = hooks or StageHooks()
    state, loop_hooks, config = prepare(plan, hooks)
    hooks.started(state.start_step)
    return run_loop(state, config["training"], loop_hooks)
