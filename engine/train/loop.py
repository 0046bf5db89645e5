"""The optimisation loop of one stage: resample, step, log, checkpoint, stop on request or target."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import torch

from ..compile import NetworkBinding
from ..config import total_steps
from ..errors import MtcError
from .loss_step import stacked_losses
from .optim import GaussNewton, Scheduler, advance, build_optimizer, step_report
from .optim.least_squares import StackedResiduals
from .balancing import Balancer
from .finish_resampling import FinishResampling
from .optim_state import restore
from .plateau import PlateauWatch
from .terms import LossTerm
from .time_budget import TimeBudget

Outcome = Literal["done", "cancelled"]
LossRow = tuple[int, float, str, float]


class NonFiniteLoss(MtcError):
    """The loss (or a gradient) became NaN or infinite; names the step and the culprit."""

    def __init__(self, step: int, culprit: str):
        super().__init__(f"non-finite loss at step {step} in {culprit}: lower the learning rate or enable grad_clip")
        self.step = step


@dataclass(frozen=True)
class Hooks:
    """What the loop tells the outside world (loss rows, checkpoints) and asks of it (stop?).

    ``save(step, elapsed, finished)``: ``finished`` is True for the checkpoint that ends the
    stage normally (all steps, or the target loss reached).
    """

    log: Callable[[list[LossRow]], None]
    save: Callable[[int, float, bool], None]
    stop_requested: Callable[[], bool]


@dataclass
class LoopState:
    """Everything the loop mutates or reads each step."""

    bindings: Mapping[str, NetworkBinding]
    parameters: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: Scheduler
    terms: list[LossTerm]
    dtype: torch.dtype
    device: torch.device
    start_step: int = 0
    elapsed: float = 0.0
    last: dict[str, float] = field(default_factory=dict)
    optimizer_kind: str = "adam"
    finishers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # "lbfgs"/"lm" -> its settings
    phase: str | None = None  # None: the stage's optimizer; else the finishing optimizer in use
    named: Mapping[str, torch.nn.Parameter] = field(default_factory=dict)  # parameter name -> parameter
    carried: Mapping[str, Any] | None = None  # the resumed checkpoint's optimizer state
    penalties: Callable[[list[dict[str, torch.Tensor]]], dict[str, torch.Tensor]] = lambda batches: {}  # KAN sparsity
    balancer: Balancer = field(default_factory=Balancer)  # the terms' weights (training.loss_balancing)
    plateau: PlateauWatch = field(default_factory=PlateauWatch)  # training.stop_on_plateau
    budget: TimeBudget = field(default_factory=TimeBudget)  # training.max_time
    loss_step: Callable[..., torch.Tensor] = stacked_losses  # (terms, bindings, batches) -> losses; engine.train.loss_step
    resampling: FinishResampling = field(default_factory=FinishResampling)  # new points in a correction's finishing steps

    @property
    def names(self) -> list[str]:
        """The loss terms' names, in order."""
        return [term.name for term in self.terms]


def phase_start(phase: str, training: Mapping[str, Any]) -> int:
    """The first step of finishing phase ``phase`` (``lbfgs`` or ``lm``)."""
    return training["max_steps"] + (training["then_lbfgs_steps"] if phase == "lm" else 0)


def phase_at(step: int, training: Mapping[str, Any]) -> str | None:
    """Which optimizer trains ``step``: None (the stage's), then ``lbfgs`` and ``lm`` (the finishing steps)."""
    if step < training["max_steps"]:
        return None
    return "lbfgs" if step < phase_start("lm", training) else "lm"


def start_phase(state: LoopState, phase: str) -> None:
    """Switch to a finishing optimizer (``then_lbfgs_steps``, ``then_lm_steps``): fresh, or as checkpointed."""
    settings = dict(state.finishers[phase])
    state.optimizer = build_optimizer(settings, state.parameters)
    state.optimizer_kind = settings["name"]
    state.phase = phase
    if state.carried is not None:
        restore(state.optimizer, state.optimizer_kind, state.named, state.carried)


def draw_batches(state: LoopState) -> list[dict[str, torch.Tensor]]:
    """One batch per loss term; for a Gauss-Newton optimizer, drawn as often as its residual count needs."""
    draws = [[t.columns(state.dtype, state.device) for t in state.terms]]
    needed = state.optimizer.points_needed if isinstance(state.optimizer, GaussNewton) else 0
    rows = sum(len(next(iter(batch.values()), ())) for t, batch in zip(state.terms, draws[0]) if t.trained)
    for _ in range(math.ceil(needed / rows) - 1 if rows else 0):
        draws.append([t.columns(state.dtype, state.device) for t in state.terms])
    if len(draws) == 1:
        return draws[0]
    return [{key: torch.cat([d[i][key] for d in draws]) for key in draws[0][i]} for i in range(len(state.terms))]


class StepClosure:
    """The loss on this step's batches: called by first-order optimizers and L-BFGS (loss and gradient),
    or asked for its :meth:`residuals` by the Gauss-Newton ones; either way ``state.last`` gets the losses."""

    def __init__(
        self, state: LoopState, batches: list[dict[str, torch.Tensor]], step: int, grad_clip: float | None, logged: bool = True
    ):
        self.state, self.batches, self.step, self.grad_clip, self.logged = state, batches, step, grad_clip, logged

    def __call__(self) -> torch.Tensor:
        state = self.state
        state.optimizer.zero_grad(set_to_none=True)
        losses, total = state.balancer.losses(
            state.terms, state.bindings, self.batches, state.parameters, self.step, state.phase is None, state.loss_step
        )
        self.record(dict(zip(state.names, losses.detach().tolist())))  # one copy out for every term
        penalties = state.penalties(self.batches)  # own rows, minimised with the loss, not part of "total"
        state.last.update({key: float(value.detach()) for key, value in penalties.items()})
        total = total + sum(penalties.values()) if penalties else total
        total.backward()
        if self.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(state.parameters, self.grad_clip)
            if not torch.isfinite(norm):
                raise NonFiniteLoss(self.step, "the gradient")
        elif self.logged:  # the norm costs a device sync: only on logged steps
            norm = torch.nn.utils.get_total_norm([p.grad for p in state.parameters if p.grad is not None])
        if self.logged:
            state.last["grad_norm"] = float(norm)  # the norm before clipping
        return total

    def residuals(self) -> StackedResiduals:
        """Every term's weighted residuals on this step's batches, for a Gauss-Newton step."""
        state = self.state
        return StackedResiduals(state.terms, state.bindings, self.batches, state.parameters)

    def record(self, values: Mapping[str, float]) -> None:
        """Keep the losses of this step's start; a non-finite one stops the stage naming its constraint."""
        value = sum(values.values())
        if not math.isfinite(value):
            culprit = next((n for n, v in values.items() if not math.isfinite(v)), "total")
            raise NonFiniteLoss(self.step, f"constraint {culprit!r}")
        self.state.last = {"total": value, **values}


def run_loop(state: LoopState, training: Mapping[str, Any], hooks: Hooks) -> Outcome:
    """Train from ``state.start_step`` to ``max_steps`` (+ ``then_lbfgs_steps`` + ``then_lm_steps``).

    Returns how the stage ended. The finishing steps that follow ``max_steps`` run on one batch
    per constraint, drawn when they start: L-BFGS builds its curvature model from consecutive
    gradients of one loss, and LM adapts its damping to one least-squares problem (a correction
    stage's are drawn anew every ``training.correction_resample_every`` steps when it is set).
    """
    log_every = training["log_every"]
    resample, every_ckpt, target = training["resample_every"], training["checkpoint_every"], training["target_loss"]
    total = total_steps(training)
    began = time.monotonic() - state.elapsed
    batches: list[dict[str, torch.Tensor]] = []
    for step in range(state.start_step, total):
        phase = phase_at(step, training)
        if phase is not None and phase != state.phase:
            start_phase(state, phase)
            batches = []
        if not batches or (state.phase is None and (step - state.start_step) % resample == 0):
            batches = draw_batches(state)
        elif state.phase is not None and state.resampling.due(step - phase_start(state.phase, training)):
            settings = state.finishers[state.phase]
            state.optimizer = state.resampling.restarted(state.optimizer, state.optimizer_kind, settings, state.parameters)
            batches = draw_batches(state)
        logged = step % log_every == 0 or step == total - 1
        state.optimizer.step(StepClosure(state, batches, step, training["grad_clip"], logged))
        report = step_report(state.optimizer)
        if state.phase is None:
            advance(state.scheduler, state.last["total"])
        elapsed = time.monotonic() - began
        if logged:
            hooks.log([(step, elapsed, key, value) for key, value in {**state.last, **report}.items()])
            if state.plateau.reached(step, state.last["total"]):
                hooks.save(step + 1, elapsed, True)
                return "done"
        done = step + 1
        if (target is not None and state.last["total"] <= target) or (done < total and state.budget.reached(step)):
            hooks.save(done, elapsed, True)
            return "done"
        if hooks.stop_requested():
            hooks.save(done, elapsed, False)
            return "cancelled"
        if done % every_ckpt == 0 and done < total:
            hooks.save(done, elapsed, False)
    hooks.save(total, time.monotonic() - began, True)
    return "done"
