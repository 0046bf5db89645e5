"""Learning-rate schedulers by config name (``scheduler.name``), and stepping them."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

Scheduler = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
_sched = torch.optim.lr_scheduler


def _constant(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    return _sched.LambdaLR(optimizer, lambda step: 1.0)


def _exponential(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    """lr0 * rate ** (step / decay_steps)."""
    rate, every = config["decay_rate"], config["decay_steps"]
    return _sched.LambdaLR(optimizer, lambda step: rate ** (step / every))


def _step(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    return _sched.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])


def _cosine(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    return _sched.CosineAnnealingLR(optimizer, T_max=config["t_max"] or max_steps, eta_min=config["eta_min"])


def _plateau(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    return _sched.ReduceLROnPlateau(
        optimizer, factor=config["factor"], patience=config["patience"], threshold=config["threshold"],
        min_lr=config["min_lr"],
    )  # fmt: skip


SCHEDULERS: dict[str, Callable[[Mapping[str, Any], torch.optim.Optimizer, int], Scheduler]] = {
    "constant": _constant,
    "exponential": _exponential,
    "step": _step,
    "cosine": _cosine,
    "plateau": _plateau,
}


def build_scheduler(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    """constant, exponential, step, cosine or plateau (``scheduler.name``)."""
    builder = SCHEDULERS.get(config["name"])
    if builder is None:
        raise ValueError(f"unknown scheduler {config['name']!r}")
    return builder(config, optimizer, max_steps)


def resume_scheduler(scheduler: Scheduler, optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load a checkpointed scheduler state and put its last learning rates back on the (fresh) optimizer.

    torch computes the cosine, step and plateau schedules from the optimizer's current lr, and a
    resumed stage's optimizer starts at the initial one: without this the lr would jump back up.
    """
    scheduler.load_state_dict(dict(state))
    for group, lr in zip(optimizer.param_groups, scheduler.get_last_lr()):
        group["lr"] = lr


def advance(scheduler: Scheduler, loss: float) -> None:
    """One scheduler step after an optimizer step (plateau watches the loss)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(loss)
    else:
        scheduler.step()


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group."""
    return float(optimizer.param_groups[0]["lr"])
