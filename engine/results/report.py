"""``mtc report``: one self-contained HTML page with the problem, the stage tree, the compare table,
the loss curves and the solutions of the best finished stages (plotly.js inlined: it opens offline)."""

from __future__ import annotations

import html
from pathlib import Path

from engine.problem import load_problem
from engine.problem.summary import format_problem, problem_summary
from engine.results.compare import CompareTable, compare_stages, format_cell
from engine.results.figures import html_page
from engine.results.plots import loss_figure
from engine.results.solution import compute_solution, solution_figures
from engine.results.tree import tree_figure
from engine.store import Storage

SOLUTIONS = 3
"""How many finished stages get their solution drawn (the best by error, else by final loss)."""

STYLES = """
body { font-family: sans-serif; margin: 2em; color: #212121; }
pre { background: #f5f5f5; padding: 1em; overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #fafafa; } td:first-child, th:first-child { text-align: left; }
.figure { margin: 1em 0; }
"""


def ranking_key(table: CompareTable) -> str | None:
    """The column that ranks stages: the first relative L2 error, else the final total loss."""
    errors = [c for c in table.columns if c.startswith("l2_rel.")]
    return errors[0] if errors else ("final.total" if "final.total" in table.columns else None)


def build_report(project: Path, storage: Storage) -> str:
    """The report page's HTML."""
    problem = load_problem(project)
    stages = storage.list_stages()
    table = compare_stages(storage)
    key = ranking_key(table)
    ranked = table.sorted_by(key) if key else table
    trained = [row["stage"] for row in ranked.rows if row.get("final.total") is not None]
    best = [row["stage"] for row in ranked.rows if row["status"] == "done"][:SOLUTIONS]
    figures = [tree_figure(stages)]
    if trained:
        figures.append(loss_figure(storage, trained))
    for stage in best:
        figures += solution_figures(compute_solution(project, stage))
    reference = "" if problem.reference is None else (
        f"<p>Reference solution: {', '.join(problem.reference.targets)}; errors on a fixed set of points.</p>"
    )  # fmt: skip
    before = (
        f"<h1>{html.escape(problem.name)}</h1><h2>Problem</h2>"
        f"<pre>{html.escape(format_problem(problem_summary(problem)))}</pre>{reference}"
        f"<h2>Stages</h2>{table_html(ranked)}"
        f"<h2>Pictures</h2><p>The stage tree, the loss curves"
        + (f", and the solution of {', '.join(best)}" if best else "")
        + ".</p>"
    )
    return html_page(f"mtc report: {problem.name}", figures, before, STYLES)


def table_html(table: CompareTable) -> str:
    """The compare table as an HTML table."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(row.get(c)))}</td>" for c in table.columns) + "</tr>"
        for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
