"""``mtc stage sweep``: one stage per combination of setting values (see ``engine.stages.sweep``)."""

from __future__ import annotations

import argparse

from ..stages import StageBook
from ..stages.sweep import MAX_WITHOUT_YES, create_sweep, parse_grid


def register_sweep(actions: argparse._SubParsersAction) -> None:
    """Add ``mtc stage sweep`` to the ``mtc stage`` actions."""
    sweep = actions.add_parser(
        "sweep",
        help="one new stage per combination of setting values (names sweepN-1, sweepN-2, ...)",
        description="Create one stage per combination of the --grid values, each starting from STAGE's "
        "settings (a new training branch, or with --child a child of STAGE), described by its values and "
        "tagged 'sweep' and 'sweepN'. Every combination is validated before any stage is written. "
        "Then: `mtc train --all --workers K`, `mtc compare --sweep sweepN`.",
    )
    sweep.add_argument("--from", dest="source", required=True, metavar="STAGE", help="start from this stage's settings")
    sweep.add_argument("--child", action="store_true", help="make children of STAGE (continue from its weights)")
    sweep.add_argument(
        "--grid", action="append", required=True, metavar="KEY=v1,v2,...",
        help="a setting and its values (repeatable), e.g. --grid optimizer.lr=1e-3,3e-3 --grid nets.NN.layer_size=32,64",
    )  # fmt: skip
    sweep.add_argument("--random", type=int, metavar="N", help="only N combinations, drawn at random")
    sweep.add_argument("--seed", type=int, default=0, metavar="S", help="the seed of --random (default 0)")
    sweep.add_argument("--yes", action="store_true", help=f"allow more than {MAX_WITHOUT_YES} stages")
    sweep.set_defaults(handler=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    grid = parse_grid(args.grid)
    with StageBook(args.project) as book:
        sweep = create_sweep(book, args.source, grid, args.child, args.random, args.seed, args.yes)
    names = [record.name for record in sweep.stages]
    print(f"created {sweep.name}: {len(names)} stage(s) {names[0]} .. {names[-1]} from {args.source}")
    for record in sweep.stages:
        print(f"  {record.name}  {record.description}")
    print(f"next: `mtc train --all --workers 2`, then `mtc compare --sweep {sweep.name}`")
    return 0
