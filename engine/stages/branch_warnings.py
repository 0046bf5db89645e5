"""Warnings about a stage set up to train in a way the user probably did not mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def frozen_branch_warning(name: str, parent: str | None, config: Mapping[str, Any]) -> str | None:
    """A training branch (trained from scratch) with a frozen network keeps that network random forever;
    say so (a branch copied from a child that froze a network inherits ``trainable=false``)."""
    if parent is not None:
        return None
    frozen = [net for net, settings in config.get("nets", {}).items() if not settings.get("trainable", True)]
    if not frozen:
        return None
    keys = ", ".join(f"nets.{net}.trainable=true" for net in frozen)
    return (
        f"{name} is a training branch (it trains from scratch) but network(s) {', '.join(frozen)} are frozen: "
        f"they would keep their random initial weights; set {keys} unless that is what you want"
    )
