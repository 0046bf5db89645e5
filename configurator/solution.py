"""The Solution panel: the fields of a finished stage as a picture, and the residual of each constraint.

The figures are drawn by ``engine.results.solution`` (the same code as ``mtc plot solution`` and
``mtc report``): in 1D one figure, in 2D one quantity at a time, chosen in a dropdown. The figure
is a plain ``go.Figure`` rendered into an ``Output`` (the page keeps a single live FigureWidget,
the loss plot).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from engine.errors import MtcError
from engine.results.solution import Solution, compute_solution, figure_1d, figure_2d
from engine.store import StageRecord

from .dialogs import Guard, button

FINISHED = ("done", "cancelled", "failed")
PLOTLY_MIME = "application/vnd.plotly.v1+json"


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
