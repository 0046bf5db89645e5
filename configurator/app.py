"""Open the configurator for a project: for now its problem panel."""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
from IPython.display import display

from engine.errors import ProblemError
from engine.problem import format_problem, load_problem, problem_summary


def problem_panel(project: Path) -> widgets.HTML:
    """The problem summary of ``project``, or the located error of its problem.py."""
    try:
        text, colour = format_problem(problem_summary(load_problem(project))), "inherit"
    except ProblemError as exc:
        text, colour = f"problem.py does not load:\n{exc}", "#b00020"
    return widgets.HTML(f"<pre style='color:{colour}'>{html.escape(text)}</pre>")


def open_app(project: str | Path = ".") -> widgets.Widget:
    """Display the configurator of ``project`` (default: the notebook's folder) and return it."""
    root = Path(project).resolve()
    app = widgets.VBox([widgets.HTML(f"<h3>mtc: {html.escape(root.name)}</h3>"), problem_panel(root)])
    display(app)
    return app
