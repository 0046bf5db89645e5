"""A trained stage's fields as figures: the drawing code of the configurator's Solution panel and of
``mtc plot solution`` / ``mtc report``.

1D problems: the network outputs, submodels and the ``set_model`` model as lines over the domain
(the reference dashed, when the project has one), the |error| against the reference and the
|residual| of each constraint on log axes. 2D (and 3D, as the slice through the middle of the other
variables): one quantity per figure: a field (or its reference, or its |error|) as a heatmap masked
to the domain, or a constraint's |residual| as points coloured on a log scale. A stage trained with
``training.sampler=rad|rar_d`` adds the points its sampler placed last (``training points of C``),
coloured by their |residual| (1D: crosses beside the residuals). Figures are plotly
``go.Figure`` objects; plotly is imported only when a figure is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.results.grid import Grid, residual_samples, solution_grid

if TYPE_CHECKING:
    import plotly.graph_objects as go

RESIDUAL = "|residual| of "
TRAINING = "training points of "
ERROR = "|error| of "
REFERENCE = "reference "


@dataclass(frozen=True)
class Solution:
    """A stage's fields on a grid, the reference and the |error| where there is one, and its residuals."""

    stage: str
    grid: Grid
    fields: dict[str, np.ndarray]
    residuals: dict[str, tuple[dict[str, np.ndarray], np.ndarray]]
    references: dict[str, np.ndarray] = field(default_factory=dict)
    training: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = field(default_factory=dict)
    """training.sampler=rad|rar_d: each adapted constraint's last batch and its |residual| there."""

    def quantities(self) -> list[str]:
        """What can be drawn: each field, each reference and its |error|, each constraint's residual, then
        the points an adaptive sampler placed."""
        compared = [q for name in self.references for q in (REFERENCE + name, ERROR + name)]
        scattered = [*(RESIDUAL + name for name in self.residuals), *(TRAINING + name for name in self.training)]
        return [*self.fields, *compared, *scattered]

    def scattered(self, quantity: str) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        """Points and |residual| of ``|residual| of C`` or ``training points of C``; None for grid quantities."""
        if quantity.startswith(RESIDUAL):
            return self.residuals[quantity.removeprefix(RESIDUAL)]
        if quantity.startswith(TRAINING):
            return self.training[quantity.removeprefix(TRAINING)]
        return None

    def values(self, quantity: str) -> np.ndarray:
        """The grid values of a field, a reference (``reference u``) or an error (``|error| of u``)."""
        if quantity.startswith(REFERENCE):
            return self.references[quantity.removeprefix(REFERENCE)]
        if quantity.startswith(ERROR):
            name = quantity.removeprefix(ERROR)
            return np.abs(self.fields[name] - self.references[name])
        return self.fields[quantity]

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
    reference = model.problem.reference
    references = {}
    if reference is not None and reference.data_path is None:
        references = {name: np.where(grid.inside, v, np.nan) for name, v in reference.values(grid.columns).items()}
    training = {name: (points, np.abs(model.predict(points)[f"residual_{name}"])) for name, points in model.points.items()}
    return Solution(stage, grid, fields, residual_samples(model.problem, model.predict), references, training)


def solution_figures(solution: Solution) -> list[go.Figure]:
    """Every picture of a solution: one figure in 1D, one per quantity in 2D and 3D."""
    if len(solution.grid.axes) == 1:
        return [figure_1d(solution)]
    return [figure_2d(solution, quantity) for quantity in solution.quantities()]


def figure_1d(solution: Solution) -> go.Figure:
    """Fields as lines (references dashed) above the |error| (when known) and the |residual| per constraint (log y)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    axis, x = solution.grid.axes[0], solution.grid.coords[0]
    titles = ["fields", *(["|error| against the reference"] if solution.references else []), "|residual| per constraint"]
    figure = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=titles)
    for name, values in solution.fields.items():
        figure.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines"), row=1, col=1)
    for name, values in solution.references.items():
        line = {"dash": "dash", "color": "black", "width": 1}
        figure.add_trace(go.Scatter(x=x, y=values, name=REFERENCE + name, mode="lines", line=line), row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=solution.values(ERROR + name), name=ERROR + name, mode="lines"), row=2, col=1)
    last = len(titles)
    for name, (points, residual) in solution.residuals.items():
        order = np.argsort(points[axis])
        marker = {"size": 4}
        figure.add_trace(
            go.Scatter(x=points[axis][order], y=residual[order], name=f"residual {name}", mode="markers", marker=marker),
            row=last, col=1,
        )  # fmt: skip
    for name, (points, residual) in solution.training.items():
        marker = {"size": 5, "symbol": "x-thin", "line": {"width": 1}}
        figure.add_trace(
            go.Scatter(x=points[axis], y=residual, name=TRAINING + name, mode="markers", marker=marker), row=last, col=1
        )
    for row in range(2, last + 1):
        figure.update_yaxes(type="log", exponentformat="e", row=row, col=1)
    figure.update_xaxes(title_text=axis, row=last, col=1)
    height = 280 * last
    figure.update_layout(height=height, template="plotly_white", title=f"{solution.stage}: solution{solution.subtitle()}")
    return figure


def figure_2d(solution: Solution, quantity: str) -> go.Figure:
    """One field, reference or |error| as a heatmap masked to the domain, or one constraint's |residual|
    as points on a log colour scale."""
    import plotly.graph_objects as go

    grid = solution.grid
    x_name, y_name = grid.axes
    scattered = solution.scattered(quantity)
    if scattered is not None:
        points, residual = scattered
        trace: go.BaseTraceType = go.Scatter(
            x=points[x_name], y=points[y_name], mode="markers",
            marker={"color": _log10(residual), "colorscale": "Viridis", "size": 5, "colorbar": {"title": {"text": "log10 |r|"}}},
        )  # fmt: skip
    else:
        values = solution.values(quantity).reshape(len(grid.coords[1]), len(grid.coords[0]))
        title = quantity
        if quantity.startswith(ERROR):
            values, title = _log10(values), f"log10 {quantity}"
        colorbar = {"title": {"text": title}}
        trace = go.Heatmap(x=grid.coords[0], y=grid.coords[1], z=values, colorscale="Viridis", colorbar=colorbar)
    figure = go.Figure(trace)
    figure.update_layout(
        height=520, template="plotly_white", title=f"{solution.stage}: {quantity}{solution.subtitle()}",
        xaxis={"title": {"text": x_name}}, yaxis={"title": {"text": y_name}, "scaleanchor": "x"},
    )  # fmt: skip
    return figure


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.maximum(values, np.finfo(float).tiny))
