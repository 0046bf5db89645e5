"""Optimizers and learning-rate schedulers built from a stage's ``optimizer`` and ``scheduler`` config."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch

Scheduler = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau


def build_optimizer(config: Mapping[str, Any], params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """Adam, AdamW, SGD (momentum) or L-BFGS (strong Wolfe line search by default).

    Adam, AdamW and SGD use torch's fused kernels (one kernel for all parameters instead of
    several per tensor: several times faster per step on the CPU for PINN-sized networks).
    """
    name = config["name"]
    params = list(params)
    if name in ("adam", "adamw"):
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return kind(
            params, lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"],
            weight_decay=config["weight_decay"], fused=_fusable(params),
        )  # fmt: skip
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=config["lr"], momentum=config["momentum"], weight_decay=config["weight_decay"],
            fused=_fusable(params),
        )  # fmt: skip
    if name == "lbfgs":
        line_search = None if config["line_search"] == "none" else config["line_search"]
        # torch's default tolerances (1e-7 on the gradient) stop L-BFGS long before PINN losses
        # near machine precision; it still stops when a line search makes no progress.
        return torch.optim.LBFGS(
            params, lr=config["lr"], max_iter=config["max_iter"], history_size=config["history_size"],
            line_search_fn=line_search, tolerance_grad=0.0, tolerance_change=0.0,
        )  # fmt: skip
    raise ValueError(f"unknown optimizer {name!r}")


def _fusable(params: list[torch.nn.Parameter]) -> bool | None:
    """Whether torch's fused optimizer kernels take these parameters (floating point, one CPU/CUDA device)."""
    devices = {p.device.type for p in params}
    fits = len(devices) == 1 and devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)
    return True if fits else None


def build_scheduler(config: Mapping[str, Any], optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
    """constant, exponential (lr0 * rate ** (step / decay_steps)), step, cosine or plateau."""
    name = config["name"]
    sched = torch.optim.lr_scheduler
    if name == "constant":
        return sched.LambdaLR(optimizer, lambda step: 1.0)
    if name == "exponential":
        rate, every = config["decay_rate"], config["decay_steps"]
        return sched.LambdaLR(optimizer, lambda step: rate ** (step / every))
    if name == "step":
        return sched.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=config["t_max"] or max_steps, eta_min=config["eta_min"])
    if name == "plateau":
        return sched.ReduceLROnPlateau(
            optimizer, factor=config["factor"], patience=config["patience"], threshold=config["threshold"],
            min_lr=config["min_lr"],
        )  # fmt: skip
    raise ValueError(f"unknown scheduler {name!r}")


def advance(scheduler: Scheduler, loss: float) -> None:
    """One scheduler step after an optimizer step (plateau watches the loss)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(loss)
    else:
        scheduler.step()


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group."""
    return float(optimizer.param_groups[0]["lr"])
