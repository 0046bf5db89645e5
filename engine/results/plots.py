"""``mtc plot losses``: the loss curves of stages as one plotly figure (the configurator's trace specs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.errors import MtcError
from engine.results.curves import LR_AXIS, LossHistory, curve_specs, key_order
from engine.store import Storage

if TYPE_CHECKING:
    import plotly.graph_objects as go

X_CHOICES = {"global": "global step", "stage": "stage step", "wall": "wall time"}


def loss_histories(storage: Storage, stages: Sequence[str]) -> dict[str, LossHistory]:
    """The whole loss history of each stage; a stage with no rows is refused (it never trained)."""
    histories = {}
    for name in stages:
        record = storage.get_stage(name)
        history = LossHistory()
        if not history.add(storage.loss_rows(name)):
            raise MtcError(
                f"stage {name!r} has no loss history (status {record.status}): train it first (`mtc train --stage {name}`)"
            )
        histories[name] = history
    return histories


def loss_figure(
    storage: Storage, stages: Sequence[str] = (), keys: Sequence[str] = ("total",), x: str = "global", smoothing: float = 0.0
) -> go.Figure:
    """The ``keys`` curves of ``stages`` (default: every stage with a history) over ``x`` (global, stage, wall)."""
    import plotly.graph_objects as go

    if x not in X_CHOICES:
        raise MtcError(f"--x {x!r}: use one of {', '.join(X_CHOICES)}")
    records = {record.name: record for record in storage.list_stages()}
    names = list(stages) or [n for n in records if storage.loss_rows(n, keys=["total"])]
    if not names:
        raise MtcError("no stage has trained yet: nothing to plot (`mtc train` first)")
    histories = loss_histories(storage, names)
    known = key_order({key for history in histories.values() for key in history.series})
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise MtcError(f"--keys: no loss named {', '.join(unknown)} in {', '.join(names)}; the keys are {', '.join(known)}")
    offsets = {name: records[name].step_offset for name in names}
    mode = X_CHOICES[x]
    specs = curve_specs(histories, offsets, names, list(keys), mode, smoothing, True, list(records))
    figure = go.Figure([go.Scatter(**spec) for spec in specs])
    figure.update_layout(
        title=f"loss of {', '.join(names)}", template="plotly_white", height=520, width=900,
        xaxis={"title": {"text": mode if mode != "wall time" else "wall time (s)"}},
        yaxis={"title": {"text": "loss"}, "type": "log", "exponentformat": "e"},
        legend={"orientation": "h", "y": -0.2},
        **({"yaxis2": LR_AXIS} if "lr" in keys else {}),
    )  # fmt: skip
    return figure
