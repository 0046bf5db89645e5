"""``mtc show ...``: what a project defines and how its stages train."""

from __future__ import annotations

import argparse
import json

from ..problem import format_problem, load_problem, problem_summary
from ..stages import StageBook, format_training


def register(commands: argparse._SubParsersAction) -> None:
    show = commands.add_parser("show", help="show what the project defines")
    what = show.add_subparsers(dest="what", metavar="WHAT", required=True)
    problem = what.add_parser("problem", help="networks, variables, submodels, geometries, subdomains, constraints")
    problem.add_argument("--json", action="store_true", help="print JSON")
    problem.add_argument(
        "--only-first-order-ufunc", action="store_true",
        help="show the problem with every higher derivative of a network rewritten as a new network (MTC's)",
    )  # fmt: skip
    problem.set_defaults(handler=run_show_problem)
    training = what.add_parser("training", help="the stage tree and each stage's optimizer, networks and constraints")
    training.add_argument("--json", action="store_true", help="print JSON")
    training.set_defaults(handler=run_show_training)


def run_show_problem(args: argparse.Namespace) -> int:
    summary = problem_summary(load_problem(args.project, first_order=args.only_first_order_ufunc or None))
    print(json.dumps(summary, indent=2) if args.json else format_problem(summary), end="\n" if args.json else "")
    return 0


def run_show_training(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        summary = book.summary()
    print(json.dumps(summary, indent=2) if args.json else format_training(summary), end="\n" if args.json else "")
    return 0
