"""Extra loss-log rows: values that are not losses (an unknown, a balanced weight) logged at each logged step."""

from __future__ import annotations

from typing import Any, Callable, Mapping

Log = Callable[[list[Any]], None]


def logging_values(log: Log, values: Callable[[], Mapping[str, float]]) -> Log:
    """``log`` that adds one row per key of ``values()`` at every step its rows log."""

    def logged(rows: list[Any]) -> None:
        steps = sorted({(step, elapsed) for step, elapsed, _, _ in rows})
        current = values()
        log(rows + [(step, elapsed, key, value) for step, elapsed in steps for key, value in current.items()])

    return logged
