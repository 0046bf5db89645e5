"""Refuse, when a stage is set (before it is queued), a Gauss-Newton optimizer its networks are too large for."""

from __future__ import annotations

from typing import Any, Mapping

from ...config import ProblemOutline
from ...config.schema import LM
from ...nets import build_network, correction_config
from .gauss_newton import size_refusal


def trainable_parameters(config: Mapping[str, Any], outline: ProblemOutline, kind: str) -> int:
    """How many parameters the stage trains: its trainable networks' (a correction stage: one correction
    network per output of each trainable network)."""
    count = 0
    for name, net in outline.networks.items():
        settings = config["nets"][name]
        if not settings["trainable"]:
            continue
        if kind == "correction":
            one = build_network(correction_config(settings, 1.0), len(net.inputs), 1, seed=0)
            count += len(net.outputs) * sum(p.numel() for p in one.parameters())
        else:
            count += sum(p.numel() for p in build_network(settings, len(net.inputs), len(net.outputs), seed=0).parameters())
    return count


def gauss_newton_refusal(config: Mapping[str, Any], outline: ProblemOutline, kind: str) -> str | None:
    """Why the stage's lm/engd optimizer or ``then_lm_steps`` cannot train its networks, or None."""
    optimizer = config["optimizer"]
    used = [(optimizer["name"], optimizer)] if optimizer["name"] in ("lm", "engd") else []
    if config["training"]["then_lm_steps"]:
        used.append(("lm", optimizer if optimizer["name"] == "lm" else LM().model_dump(mode="json")))
    if not used:
        return None
    learned = [name for name, settings in config.get("unknowns", {}).items() if settings["trainable"]]
    if learned:
        return (
            f"{used[0][0]} does not learn unknown constants ({', '.join(learned)}): train them with adam or lbfgs "
            f"first, then set unknowns.<k>.trainable=false for the {used[0][0]} steps"
        )
    count = trainable_parameters(config, outline, kind)
    return next((refusal for name, settings in used if (refusal := size_refusal(name, settings, count))), None)
