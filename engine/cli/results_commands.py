"""``mtc compare``, ``mtc plot losses|solution`` and ``mtc report``: thin wrappers over ``engine.results``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import MtcError
from ..store import Storage, open_storage

SOLUTION_FILE = "solution.html"


def register(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="one row per stage: run, final and best losses, errors, and the settings that differ",
        description="Columns: stage, status, kind, parent, steps, wall_s, steps_per_s, device, final.KEY and "
        "best.KEY per loss, l2_rel.OUT and max_abs.OUT against the reference solution (p.set_reference), "
        "then only the settings whose values differ between the compared stages.",
    )
    compare.add_argument("stages", nargs="*", metavar="STAGES", help="the stages to compare (default: all)")
    compare.add_argument("--sort", metavar="KEY", help="sort by this column; --sort=-KEY sorts descending")
    compare.add_argument("--sweep", metavar="NAME", help="only the stages of this sweep, best first")
    formats = compare.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print JSON")
    formats.add_argument("--csv", action="store_true", help="print CSV")
    compare.set_defaults(handler=run_compare)

    plot = commands.add_parser("plot", help="draw loss curves or a stage's solution to a PNG, SVG or HTML file")
    kinds = plot.add_subparsers(dest="what", metavar="WHAT", required=True)
    losses = kinds.add_parser("losses", help="loss curves of stages")
    losses.add_argument("--stage", action="append", dest="stages", default=[], metavar="S", help="repeatable (default: all)")
    losses.add_argument("--keys", default="total", help="comma-separated loss keys (default: total)")
    losses.add_argument("--x", choices=("global", "stage", "wall"), default="global", help="x axis (default: global)")
    losses.add_argument("--output", required=True, type=Path, metavar="FILE", help="fig.png, fig.svg or fig.html")
    losses.set_defaults(handler=run_plot_losses)
    solution = kinds.add_parser("solution", help="a trained stage's fields, reference, error and residuals")
    solution.add_argument("--stage", required=True, metavar="S")
    solution.add_argument(
        "--quantity", metavar="Q", help="2D/3D in PNG/SVG: which quantity (default: the first field); HTML has all"
    )
    solution.add_argument("--output", type=Path, metavar="FILE", help=f"default: training/S/{SOLUTION_FILE}")
    solution.set_defaults(handler=run_plot_solution)

    report = commands.add_parser(
        "report", help="one self-contained HTML page: problem, stage tree, compare table, losses, solutions"
    )
    report.add_argument("--output", type=Path, metavar="FILE", help="default: report.html in the project folder")
    report.set_defaults(handler=run_report)


def measure(project: Path, storage: Storage) -> None:
    """Record the errors of finished stages not yet measured against the reference (a warning if that fails)."""
    from ..results.record import update_errors

    try:
        measured = update_errors(project, storage)
    except MtcError as exc:
        print(f"mtc: warning: errors against the reference not measured: {exc}", file=sys.stderr)
        return
    if measured:
        print(f"measured {', '.join(measured)} against the reference solution", file=sys.stderr)


def run_compare(args: argparse.Namespace) -> int:
    from ..results.compare import compare_stages
    from ..results.report import ranking_key

    project = Path(args.project)
    with open_storage(project) as storage:
        measure(project, storage)
        table = compare_stages(storage, args.stages, tag=args.sweep)
    sort = args.sort or (ranking_key(table) if args.sweep else None)
    if sort:
        table = table.sorted_by(sort)
    print(table.to_json() if args.json else table.to_csv() if args.csv else table.to_text(), end="" if args.csv else "\n")
    return 0


def run_plot_losses(args: argparse.Namespace) -> int:
    from ..results.figures import output_format, write_figure
    from ..results.plots import loss_figure

    output = args.output
    output_format(output)
    keys = [key.strip() for key in args.keys.split(",") if key.strip()]
    with open_storage(args.project) as storage:
        figure = loss_figure(storage, args.stages, keys, args.x)
    write_figure(figure, output)
    print(f"wrote {output}")
    return 0


def run_plot_solution(args: argparse.Namespace) -> int:
    from ..results.figures import html_page, output_format, write_atomically, write_figure
    from ..results.solution import compute_solution, figure_1d, figure_2d, solution_figures

    project = Path(args.project)
    output = args.output or project / "training" / args.stage / SOLUTION_FILE
    fmt = output_format(output) if args.output else "html"
    with open_storage(project) as storage:
        record = storage.get_stage(args.stage)
    if record.status not in ("done", "cancelled", "failed") or record.last_step is None:
        raise MtcError(
            f"stage {args.stage!r} has not trained (status {record.status}): train it first (`mtc train --stage {args.stage}`)"
        )
    solution = compute_solution(project, args.stage)
    if args.quantity is not None and args.quantity not in solution.quantities():
        raise MtcError(f"--quantity {args.quantity!r}: use one of {', '.join(solution.quantities())}")
    if fmt == "html" and args.quantity is None:
        write_atomically(output, html_page(f"{args.stage}: solution", solution_figures(solution)).encode())
    elif len(solution.grid.axes) == 1:
        write_figure(figure_1d(solution), output)
    else:
        write_figure(figure_2d(solution, args.quantity or solution.quantities()[0]), output)
    print(f"wrote {output}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from ..results.figures import output_format, write_atomically
    from ..results.report import build_report

    project = Path(args.project)
    output = args.output or project / "report.html"
    if output_format(output) != "html":
        raise MtcError(f"--output {str(output)!r}: a report is an .html file")
    with open_storage(project) as storage:
        measure(project, storage)
        page = build_report(project, storage)
    write_atomically(output, page.encode())
    print(f"wrote {output}")
    return 0
