"""``mtc show ...``: what a project defines."""

from __future__ import annotations

import argparse
import json

from ..problem import format_problem, load_problem, problem_summary


def register(commands: argparse._SubParsersAction) -> None:
    show = commands.add_parser("show", help="show what the project defines")
    what = show.add_subparsers(dest="what", metavar="WHAT", required=True)
    problem = what.add_parser("problem", help="networks, variables, submodels, geometries, subdomains, constraints")
    problem.add_argument("--json", action="store_true", help="print JSON")
    problem.set_defaults(handler=run_show_problem)


def run_show_problem(args: argparse.Namespace) -> int:
    summary = problem_summary(load_problem(args.project))
    print(json.dumps(summary, indent=2) if args.json else format_problem(summary), end="\n" if args.json else "")
    return 0
