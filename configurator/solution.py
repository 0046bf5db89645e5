"""The Solution panel: the fields of a finished stage as a picture, and the residual of each constraint.

1D problems: the network outputs, submodels and the ``set_model`` model as lines over the domain,
and |residual| of each constraint on points of its subdomain (log axis). 2D: one quantity at a
time, chosen in a dropdown: a field as a heatmap masked to the domain, or a constraint's
|residual| as points coloured on a log scale. The figure is a plain ``go.Figure`` rendered into an
``Output`` (the page keeps a single live FigureWidget, the loss plot).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from engine.errors import MtcError
from engine.store import StageRecord

from .dialogs import Guard, button
from .solution_grid import Grid, residual_samples, solution_grid

FINISHED = ("done", "cancelled", "failed")
RESIDUAL = "|residual| of "
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@dataclass(frozen=True)
class Solution:
    """A stage's fields on a grid and its residuals on sampled points."""

    stage: str
    grid: Grid
    fields: dict[str, np.ndarray]
    residuals: dict[str, tuple[dict[str, np.ndarray], np.ndarray]]

    def quantities(self) -> list[str]:
        """What can be drawn: each field, then each constraint's residual."""
        return [*self.fields, *(RESIDUAL + name for name in self.residuals)]

    def subtitle(self) -> str:
        """The values of the variables not on an axis, e.g. ``(a = 2)``."""
        held = ", ".join(f"{name} = {value:g}" for name, value in self.grid.fixed.items())
        return f" ({held})" if held else ""


def compute_solution(project: Path, stage: str) -> Solution:
    """Evaluate the trained networks of ``stage`` on the drawing grid and on points of every constraint."""
    from engine.inference import load_stage  # torch: imported only when a solution is asked for

    model = load_stage(project, stage)
    grid = solution_grid(model.problem)
    values = model.predict(grid.columns)
    fields = {name: np.where(grid.inside, v, np.nan) for name, v in values.items() if not name.startswith("residual_")}
    return Solution(stage, grid, fields, residual_samples(model.problem, model.predict))


def figure_1d(solution: Solution) -> go.Figure:
    """Fields as lines over the domain above the |residual| of each constraint (log y)."""
    from plotly.subplots import make_subplots

    axis = solution.grid.axes[0]
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=("fields", "|residual| per constraint")
    )
    for name, values in solution.fields.items():
        figure.add_trace(go.Scatter(x=solution.grid.coords[0], y=values, name=name, mode="lines"), row=1, col=1)
    for name, (points, residual) in solution.residuals.items():
        order = np.argsort(points[axis])
        x, y = points[axis][order], residual[order]
        marker = {"size": 4}
        figure.add_trace(go.Scatter(x=x, y=y, name=f"residual {name}", mode="markers", marker=marker), row=2, col=1)
    figure.update_yaxes(type="log", exponentformat="e", row=2, col=1)
    figure.update_xaxes(title_text=axis, row=2, col=1)
    figure.update_layout(height=560, template="plotly_white", title=f"{solution.stage}: solution{solution.subtitle()}")
    return figure


def figure_2d(solution: Solution, quantity: str) -> go.Figure:
    """One field as a heatmap masked to the domain, or one constraint's |residual| as points on a log colour scale."""
    grid = solution.grid
    x_name, y_name = grid.axes
    if quantity.startswith(RESIDUAL):
        points, residual = solution.residuals[quantity.removeprefix(RESIDUAL)]
        with np.errstate(divide="ignore"):
            colour = np.log10(np.maximum(residual, np.finfo(float).tiny))
        trace: go.BaseTraceType = go.Scatter(
            x=points[x_name], y=points[y_name], mode="markers",
            marker={"color": colour, "colorscale": "Viridis", "size": 5, "colorbar": {"title": {"text": "log10 |r|"}}},
        )  # fmt: skip
    else:
        values = solution.fields[quantity].reshape(len(grid.coords[1]), len(grid.coords[0]))
        colorbar = {"title": {"text": quantity}}
        trace = go.Heatmap(x=grid.coords[0], y=grid.coords[1], z=values, colorscale="Viridis", colorbar=colorbar)
    figure = go.Figure(trace)
    figure.update_layout(
        height=520, template="plotly_white", title=f"{solution.stage}: {quantity}{solution.subtitle()}",
        xaxis={"title": {"text": x_name}}, yaxis={"title": {"text": y_name}},
    )  # fmt: skip
    return figure


class SolutionView:
    """SHOW SOLUTION draws the selected stage; from then on the view follows the selection."""

    def __init__(self, project: Path, guard: Guard):
        self.project = project
        self.following = False
        self.figure: go.Figure | None = None
        self._record: StageRecord | None = None
        self._solution: Solution | None = None
        self._key: tuple[str, object] | None = None
        self._quiet = False
        self.note = widgets.HTML("Select a stage that has finished training and press SHOW SOLUTION.")
        self.quantity = widgets.Dropdown(description="show", options=[])
        self.quantity.add_class("mtc-solution-quantity")
        self.quantity.observe(lambda _: None if self._quiet else guard(self._draw), "value")
        self.output = widgets.Output()
        self.output.add_class("mtc-solution-plot")
        show = button("SHOW SOLUTION", guard.wrap(self.show_selected), "draw the selected stage's fields and residuals")
        self.widget = widgets.VBox([widgets.HBox([show, self.quantity]), self.note, self.output])
        self.quantity.layout.display = "none"

    def follow(self, record: StageRecord | None) -> None:
        """The selected stage changed (or its status did): redraw if the view is following."""
        self._record = record
        if self.following:
            self._update()

    def show_selected(self) -> None:
        """SHOW SOLUTION: draw the selected stage and follow the selection from now on."""
        self.following = True
        self._update()

    def _update(self) -> None:
        record = self._record
        if record is None or record.status not in FINISHED:
            name = record.name if record else "the selected stage"
            self.note.value = f"{name} has not finished training: its solution appears here once it has."
            self._clear()
            return
        key = (record.name, record.finished_at)
        if key != self._key:
            self._key, self._solution = None, None
            self._clear()
            try:
                self._solution = compute_solution(self.project, record.name)
            except MtcError as exc:
                self.note.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
                return
            self._key = key
        self.note.value = ""
        options = self._solution.quantities()
        if list(self.quantity.options) != options:
            self._quiet = True
            try:
                self.quantity.options = options
                self.quantity.value = options[0]
            finally:
                self._quiet = False
        if len(self._solution.grid.axes) == 2:
            self.quantity.layout.display = None
        self._draw()

    def _draw(self) -> None:
        solution = self._solution
        if solution is None:
            return
        two_d = len(solution.grid.axes) == 2
        self.figure = figure_2d(solution, self.quantity.value) if two_d else figure_1d(solution)
        bundle = {PLOTLY_MIME: json.loads(self.figure.to_json()), "text/plain": f"<solution of {solution.stage}>"}
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _clear(self) -> None:
        self.figure = None
        self.output.outputs = ()
        self.quantity.layout.display = "none"
