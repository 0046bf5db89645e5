"""Adaptive sampling settings (``training.sampler=rad|rar_d``): which constraints adapt, and the checks
that refuse a stage with nothing to adapt or a candidate pool too small for its batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.errors import ConfigError
from engine.config.outline import ProblemOutline
from engine.config.schema import ADAPTIVE_SAMPLERS


def is_adaptive(training: Mapping[str, Any]) -> bool:
    """Whether ``training.sampler`` draws by residual (rad, rar_d)."""
    return training["sampler"] in ADAPTIVE_SAMPLERS


def base_sampler(training: Mapping[str, Any]) -> str:
    """The uniform/quasi-random sampler ordinary draws use: ``sampler``, or ``rad.pool_sampler`` when adaptive."""
    return training["rad"]["pool_sampler"] if is_adaptive(training) else training["sampler"]


def adapted_constraints(config: Mapping[str, Any], outline: ProblemOutline) -> list[str]:
    """The included interior constraints that are trained (not ``hard``): those an adaptive sampler places."""
    return [
        name
        for name, settings in config.get("constraints", {}).items()
        if settings["include"] and not settings.get("hard") and outline.constraints[name].domain_kind == "interior"
    ]


def check_sampler(config: Mapping[str, Any], outline: ProblemOutline) -> None:
    """Refuse rad/rar_d on a stage with no interior constraint to adapt, or a pool smaller than a draw."""
    training = config["training"]
    if not is_adaptive(training):
        return
    sampler, settings = training["sampler"], training["rad"]
    adapted = adapted_constraints(config, outline)
    if not adapted:
        raise ConfigError(
            f"training.sampler: {sampler} places the points of interior equation constraints by their residual, "
            "but this stage includes none (only boundary, exact (hard) or data constraints): include an interior "
            "constraint or set training.sampler=uniform (or sobol, halton)",
            key="training.sampler", value=sampler, allowed=", ".join(ADAPTIVE_SAMPLERS),
        )  # fmt: skip
    drawn = {name: config["constraints"][name]["batch_size"] if sampler == "rad" else settings["add"] for name in adapted}
    name, need = max(drawn.items(), key=lambda item: item[1])
    if settings["pool"] < need:
        what = f"constraints.{name}.batch_size" if sampler == "rad" else "training.rad.add"
        raise ConfigError(
            f"training.rad.pool: {settings['pool']} candidate points are fewer than the {need} that {sampler} draws "
            f"from them ({what}); set training.rad.pool={10 * need} or more",
            key="training.rad.pool", value=settings["pool"], allowed=f"an integer >= {need}",
        )  # fmt: skip
