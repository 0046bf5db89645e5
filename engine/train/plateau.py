"""Stop on plateau (``training.stop_on_plateau``): end a stage whose total loss no longer improves."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any


class PlateauWatch:
    """Counts logged checks since the best total loss last improved by more than ``min_delta`` (relative).

    ``patience`` checks without such an improvement make :meth:`reached` true (``None`` watches
    nothing); ``stopped`` then receives the stage's end message, ``stopped: plateau at step N``.
    """

    def __init__(self, training: Mapping[str, Any] | None = None, stopped: Callable[[str], None] = lambda note: None):
        on = bool(training and training.get("stop_on_plateau"))
        self.patience = training["plateau_patience"] if on and training else None
        self.min_delta = training["plateau_min_delta"] if on and training else 0.0
        self.stopped = stopped
        self.best = math.inf
        self.waited = 0

    def reached(self, step: int, total: float) -> bool:
        """Record the total loss logged at ``step``; True once the loss has plateaued."""
        if self.patience is None:
            return False
        if total < self.best * (1 - self.min_delta):
            self.best, self.waited = total, 0
            return False
        self.waited += 1
        if self.waited < self.patience:
            return False
        self.stopped(f"stopped: plateau at step {step}")
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.waited = state["best"], state["waited"]
