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
from .optim import Scheduler, advance, build_optimizer, current_lr
from .terms import LossTerm

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
    polish: Mapping[str, Any] | None = None  # the L-BFGS settings of training.then_lbfgs_steps
    polishing: bool = False

    @property
    def names(self) -> list[str]:
        """The loss terms' names, in order."""
        return [term.name for term in self.terms]


def start_polishing(state: LoopState) -> None:
    """Switch to L-BFGS (``training.then_lbfgs_steps``): a fresh optimizer, no scheduler steps."""
    settings = dict(state.polish or {})
    state.optimizer = build_optimizer(settings, state.parameters)
    state.optimizer_kind = settings["name"]
    state.polishing = True


def _closure(state: LoopState, batches: list[dict[str, torch.Tensor]], step: int, grad_clip: float | None) -> Callable[[], torch.Tensor]:
    def closure() -> torch.Tensor:
        state.optimizer.zero_grad(set_to_none=True)
        losses = torch.stack([t.loss(state.bindings, b) for t, b in zip(state.terms, batches)])
        total = losses.sum()
        values = dict(zip(state.names, losses.detach().tolist()))  # one copy out for every term
        value = float(total.detach())
        if not math.isfinite(value):
            culprit = next((n for n, v in values.items() if not math.isfinite(v)), "total")
            raise NonFiniteLoss(step, f"constraint {culprit!r}")
        total.backward()
        if grad_clip is None:
            norm = torch.nn.utils.get_total_norm([p.grad for p in state.parameters if p.grad is not None])
        else:
            norm = torch.nn.utils.clip_grad_norm_(state.parameters, grad_clip)
            if not torch.isfinite(norm):
                raise NonFiniteLoss(step, "the gradient")
        state.last = {"total": value, **values, "grad_norm": float(norm)}  # the norm before clipping
        return total

    return closure


def run_loop(state: LoopState, training: Mapping[str, Any], hooks: Hooks) -> Outcome:
    """Train from ``state.start_step`` to ``max_steps`` (+ ``then_lbfgs_steps``); returns how the stage ended.

    The L-BFGS steps that follow ``max_steps`` run on one batch per constraint, drawn when
    they start: L-BFGS builds its curvature model from consecutive gradients of one loss.
    """
    max_steps, log_every = training["max_steps"], training["log_every"]
    resample, every_ckpt, target = training["resample_every"], training["checkpoint_every"], training["target_loss"]
    total = total_steps(training)
    began = time.monotonic() - state.elapsed
    batches: list[dict[str, torch.Tensor]] = []
    for step in range(state.start_step, total):
        if step >= max_steps and not state.polishing:
            start_polishing(state)
            batches = []
        if not batches or (not state.polishing and (step - state.start_step) % resample == 0):
            batches = [t.columns(state.dtype, state.device) for t in state.terms]
        lr = current_lr(state.optimizer)
        state.optimizer.step(_closure(state, batches, step, training["grad_clip"]))
        if not state.polishing:
            advance(state.scheduler, state.last["total"])
        elapsed = time.monotonic() - began
        if step % log_every == 0 or step == total - 1:
            hooks.log([(step, elapsed, key, value) for key, value in state.last.items()] + [(step, elapsed, "lr", lr)])
        done = step + 1
        if target is not None and state.last["total"] <= target:
            hooks.save(done, elapsed, True)
            return "done"
        if hooks.stop_requested():
            hooks.save(done, elapsed, False)
            return "cancelled"
        if done % every_ckpt == 0 and done < total:
            hooks.save(done, elapsed, False)
    hooks.save(total, time.monotonic() - began, True)
    return "done"
