"""Which loss-balancing settings make sense for a stage: refusals (when set) and a warning; torch-free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.errors import ConfigError

FIRST_ORDER = ("adam", "adamw", "sgd")  # the optimizers whose steps balance the loss


def balanced_terms(config: Mapping[str, Any]) -> list[str]:
    """The constraints and data constraints a stage balances: included, trained (not hard), weight not 0."""
    constraints = [
        name for name, s in config.get("constraints", {}).items() if s["include"] and not s.get("hard") and s["weight"] != 0
    ]
    return constraints + [name for name, s in config.get("data", {}).items() if s["include"] and s["weight"] != 0]


def check_balancing(config: Mapping[str, Any]) -> None:
    """Refuse balancing on an optimizer that takes no first-order steps, and self_adaptive on redrawn points."""
    training = config["training"]
    method = training.get("loss_balancing", "none")
    if method == "none":
        return
    optimizer = config["optimizer"]["name"]
    if optimizer not in FIRST_ORDER:
        raise ConfigError(
            f"training.loss_balancing: {method} adapts the weights between first-order steps, but optimizer.name "
            f"is {optimizer}: use one of {', '.join(FIRST_ORDER)} (with training.then_lbfgs_steps/then_lm_steps "
            "to finish), or set training.loss_balancing=none",
            key="training.loss_balancing",
            value=method,
        )
    if method == "self_adaptive" and training["resample_every"] < training["max_steps"]:
        raise ConfigError(
            f"training.loss_balancing: self_adaptive learns one weight per point, so its points must stay fixed, "
            f"but training.resample_every={training['resample_every']} redraws them during the "
            f"{training['max_steps']} steps: set training.resample_every={training['max_steps']} (or more)",
            key="training.loss_balancing",
            value=method,
        )


def balancing_warning(stage: str, config: Mapping[str, Any]) -> str | None:
    """A warning when a stage balances fewer than two trained constraints (nothing to balance), else None."""
    method = config["training"].get("loss_balancing", "none")
    terms = balanced_terms(config)
    if method == "none" or len(terms) > 1:
        return None
    what = f"only {terms[0]!r} is" if terms else "no constraint is"
    return (
        f"stage {stage!r} sets training.loss_balancing={method} but {what} trained, so there is nothing to "
        "balance: include a second constraint, or set training.loss_balancing=none"
    )
