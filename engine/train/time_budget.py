"""A stage's time budget (``training.max_time``): end the stage, as done, once its time is used up.

The clock starts when the stage's run starts (:func:`~engine.train.stage.prepare`), so the
preparation (a correction stage's start: its parent's residual on the FFT grid) counts, and so
does every step of the stage's optimizer and of its finishing phases; the loop asks
:meth:`TimeBudget.reached` after each step. A correction stage's guard runs after the last step:
the loop keeps :attr:`TimeBudget.reserve` seconds for it, estimated from the stage's start, which
measures the parent's residual on the same points once where the guard measures the corrected
model once per scale. The stage also ends before a step that, taking as long as the step before
it, would end past the limit: the limit then holds up to the error of the guard's estimate and a
step that takes longer than the one before (the first step of a finishing phase). A resumed stage
counts the total: the time used up to the checkpoint it resumes from (kept there) plus this run's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

Clock = Callable[[], float]


class TimeBudget:
    """Seconds a stage may use (``limit``; None: no limit), counted on ``clock`` from ``began``.

    ``stopped`` receives the stage's end message, ``stopped: time budget at step N``, the way
    :class:`~engine.train.plateau.PlateauWatch` reports a plateau.
    """

    def __init__(
        self,
        limit: float | None = None,
        stopped: Callable[[str], None] = lambda note: None,
        clock: Clock = time.monotonic,
        began: float | None = None,
    ):
        self.limit, self.stopped, self.clock = limit, stopped, clock
        self.began = clock() if began is None else began
        self.reserve = 0.0  # seconds kept for what runs after the last step (a correction's guard)
        self.previous: float | None = None  # the time used when the last step ended

    def used(self) -> float:
        """Seconds used so far, earlier runs of a resumed stage included."""
        return self.clock() - self.began

    def reached(self, step: int) -> bool:
        """True once the time used, the reserve and another step as long as ``step`` would reach the limit
        (then says so, through ``stopped``)."""
        now = self.used()
        lasted = 0.0 if self.previous is None else now - self.previous
        self.previous = now
        if self.limit is None or now + lasted + self.reserve < self.limit:
            return False
        self.stopped(f"stopped: time budget at step {step} (training.max_time={self.limit:g} s)")
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"used": self.used(), "reserve": self.reserve}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue a resumed stage's count: the saved run's time is added to this run's."""
        self.began -= state["used"]
        self.reserve = state["reserve"]
