"""How many steps a stage's training settings make."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def total_steps(training: Mapping[str, Any]) -> int:
    """Steps of a stage: ``max_steps`` of its optimizer, then ``then_lbfgs_steps`` of L-BFGS and ``then_lm_steps`` of LM."""
    return int(training["max_steps"]) + int(training.get("then_lbfgs_steps", 0)) + int(training.get("then_lm_steps", 0))
