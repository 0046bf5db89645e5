"""The Plots panel: one live plotly FigureWidget overlaying the loss curves of the stages the user ticks.

Rows are fetched incrementally (only ids above the last one seen) and the figure is updated in
one ``batch_update``; ``uirevision`` keeps the user's zoom across updates.

The FigureWidget carries plotly.js (5 MB) in its state, and a page waits for every widget before
it draws. With ``deferred=True`` the figure is built only when the browser has drawn the panel
(a :class:`RenderBeacon` says so, with the panel's width), so the rest of the app is usable that
much sooner; the curves read meanwhile are drawn as soon as it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from engine.results.curves import LR_AXIS, X_MODES, LossHistory, curve_specs, key_order, total_notes
from engine.store import StageRecord, Storage

from .beacon import RenderBeacon
from .dialogs import Guard
from .plot_memory import load_memory, save_memory
from .style import css_name



KEYS_HINT = "Ctrl/Shift-click: several keys"
MAX_KEY_ROWS = 10


class LossPlot:
    """Loss curves of the ticked stages, growing while they train."""

    def __init__(self, storage: Callable[[], Storage], guard: Guard, deferred: bool = False, project: Path | None = None):
        self._storage = storage
        self._project = project
        self._remembered = load_memory(project) if project is not None else {}
        self._guard = guard
        self._quiet = False
        self._histories: dict[str, LossHistory] = {}
        self._records: dict[str, StageRecord] = {}
        self._toggles: dict[str, widgets.ToggleButton] = {}
        self.figure: go.FigureWidget | None = None
        self.stage_toggles = widgets.HBox(layout={"flex_flow": "row wrap"})
        self.stage_toggles.add_class("mtc-plot-stages")
        self.x_mode = widgets.ToggleButtons(options=X_MODES, value=X_MODES[0], description="x")
        self.keys = widgets.SelectMultiple(options=["total"], value=("total",), rows=1, description="loss")
        self.keys.tooltip = KEYS_HINT
        self.log_y = widgets.Checkbox(value=True, description="log y", indent=False)
        self.smoothing = widgets.FloatSlider(
            value=0.0, min=0.0, max=0.99, step=0.01, description="smoothing", continuous_update=False
        )
        controls = {"x": self.x_mode, "keys": self.keys, "logy": self.log_y, "smoothing": self.smoothing}
        self._restore()
        for name, control in controls.items():
            control.add_class(f"mtc-plot-{name}")
            control.observe(lambda _: None if self._quiet else guard(self._changed), "value")
        self._beacon = [RenderBeacon(lambda width: guard(lambda: self.attach(width)))] if deferred else []
        self._container = widgets.Box(self._beacon)
        self._container.add_class("mtc-loss-plot")
        if not deferred:
            self.attach()
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.HTML("curves of:"), self.stage_toggles]),
                widgets.HBox([self.x_mode, self.log_y]),
                widgets.HBox([self.keys, widgets.HTML(f"<small>{KEYS_HINT}</small>"), self.smoothing]),
                self._container,
            ]
        )

    def attach(self, width: int | None = None) -> None:
        """Build the figure (once; ``width`` in pixels, else plotly's) and draw the curves read so far."""
        if self.figure is not None:
            return
        self.figure = go.FigureWidget(
            layout=go.Layout(
                width=width,
                height=440,
                template="plotly_white",
                margin={"l": 70, "r": 20, "t": 30, "b": 50},
                uirevision="mtc-losses",
                xaxis={"title": {"text": X_MODES[0]}, "uirevision": X_MODES[0]},
                yaxis={"title": {"text": "loss"}, "type": "log", "exponentformat": "e"},
                yaxis2=LR_AXIS,
                legend={"orientation": "h", "y": -0.2},
            )
        )
        self._container.children = (*self._beacon, self.figure)
        self.redraw()

    @property
    def shown(self) -> list[str]:
        """The ticked stages."""
        return [name for name, toggle in self._toggles.items() if toggle.value]

    def show_stages(self, names: Iterable[str]) -> None:
        """Tick ``names`` (their curves appear and grow from now on)."""
        self._quiet = True
        try:
            for name in names:
                if name in self._toggles:
                    self._toggles[name].value = True
        finally:
            self._quiet = False
        self._fetch()
        self.redraw()

    def update(self, records: Sequence[StageRecord]) -> None:
        """Follow the stages: toggles for new ones, forget deleted or cleaned ones, add new rows, redraw if needed."""
        self._records = {record.name: record for record in records}
        changed = self._sync_toggles(records)
        for name in list(self._histories):
            if name not in self._records or self._records[name].status == "draft":
                del self._histories[name]
                changed = True
        if self._fetch() or changed:
            self.redraw()

    def points(self, name: str, key: str = "total") -> int:
        """How many points of ``name``'s ``key`` curve have been read."""
        history = self._histories.get(name)
        series = history.series.get(key) if history else None
        return 0 if series is None else len(series.steps)

    def _sync_toggles(self, records: Sequence[StageRecord]) -> bool:
        names = [record.name for record in records]
        if names == list(self._toggles):
            return False
        toggles = {}
        for name in names:
            toggle = self._toggles.get(name)
            if toggle is None:
                ticked = name in self._remembered.get("shown", ())  # ticked on the last visit
                toggle = widgets.ToggleButton(value=ticked, description=name, tooltip=f"show the loss curves of {name}")
                toggle.layout.width = "auto"
                toggle.add_class(f"mtc-plot-stage-{css_name(name)}")
                toggle.observe(lambda _: None if self._quiet else self._guard(self._toggled), "value")
            toggles[name] = toggle
        self._toggles = toggles
        self.stage_toggles.children = tuple(toggles.values())
        return True

    def _toggled(self) -> None:
        self._fetch()
        self._changed()

    def _changed(self) -> None:
        """A control or a tick changed: redraw, and remember the state for the next visit."""
        self.redraw()
        if self._project is not None:
            self._remembered = {
                "shown": self.shown, "x": self.x_mode.value, "keys": list(self.keys.value),
                "log_y": self.log_y.value, "smoothing": self.smoothing.value,
            }  # fmt: skip
            save_memory(self._project, self._remembered)

    def _restore(self) -> None:
        """Set the controls as they were on the last visit (unknown values are skipped)."""
        state = self._remembered
        if state.get("x") in X_MODES:
            self.x_mode.value = state["x"]
        keys = [key for key in state.get("keys", ()) if isinstance(key, str)]
        if keys:
            self.keys.options = key_order({"total", *keys})
            self.keys.value = tuple(keys)
        if isinstance(state.get("log_y"), bool):
            self.log_y.value = state["log_y"]
        if isinstance(state.get("smoothing"), (int, float)):
            self.smoothing.value = min(max(float(state["smoothing"]), 0.0), 0.99)

    def _fetch(self) -> bool:
        """Read the rows added since the last read for every ticked stage; returns whether there were any."""
        storage = self._storage()
        new = False
        for name in self.shown:
            history = self._histories.setdefault(name, LossHistory())
            new |= history.add(storage.loss_rows(name, after_id=history.last_id))
        return new

    def redraw(self) -> None:
        """Rebuild the traces from the rows read so far, in one batch."""
        self._sync_keys()
        if self.figure is None:  # deferred: drawn when the figure is built
            return
        traces = self._traces()
        mode = self.x_mode.value
        axis = {"title": {"text": mode if mode != "wall time" else "wall time (s)"}, "uirevision": mode}
        yaxis = {"type": "log" if self.log_y.value else "linear"}
        same = [t["uid"] for t in traces] == [t.uid for t in self.figure.data]
        if not same:
            self.figure.data = ()
        with self.figure.batch_update():
            self.figure.layout.xaxis.update(axis)
            self.figure.layout.yaxis.update(yaxis)
            if same:
                for trace, spec in zip(self.figure.data, traces):
                    trace.update(spec)
            else:
                self.figure.add_traces([go.Scatter(**spec) for spec in traces])

    def _sync_keys(self) -> None:
        seen = {key for name in self.shown if name in self._histories for key in self._histories[name].series}
        options = key_order(seen | {"total"} | set(self.keys.value))  # a chosen key stays until unchosen
        if list(self.keys.options) != options:
            chosen = tuple(key for key in self.keys.value if key in options) or ("total",)
            self._quiet = True
            try:
                self.keys.rows = min(len(options), MAX_KEY_ROWS)  # every key in sight
                self.keys.options = options
                self.keys.value = chosen
            finally:
                self._quiet = False

    def _traces(self) -> list[dict[str, Any]]:
        """Plotly trace specs: per ticked stage and chosen key, a smoothed curve over its faint raw curve."""
        offsets = {name: record.step_offset for name, record in self._records.items()}
        notes = total_notes(
            {name: r.config for name, r in self._records.items()}, {name: r.parent for name, r in self._records.items()}
        )
        return curve_specs(
            self._histories, offsets, self.shown, list(self.keys.value), self.x_mode.value,
            float(self.smoothing.value), self.log_y.value, list(self._toggles), notes,
        )  # fmt: skip
