"""``mtc stage cascade``: a multilevel ladder of widening children (see ``engine.stages.cascade``)."""

from __future__ import annotations

import argparse

from ..stages import StageBook
from ..stages.cascade import MAX_LEVELS, create_cascade, parse_steps


def register_cascade(actions: argparse._SubParsersAction) -> None:
    """Add ``mtc stage cascade`` to the ``mtc stage`` actions."""
    cascade = actions.add_parser(
        "cascade",
        help="a multilevel ladder: LEVELS children, each FACTOR times wider than the one before",
        description="Coarse-to-fine (multilevel) training: create a chain of child stages from PARENT, each "
        "one's trainable networks FACTOR times wider than its parent's, named PARENT-xFACTOR, PARENT-xFACTOR^2, "
        "... Each starts from its parent's function exactly and carries its Adam moments (padded with zeros). "
        "Every level is validated before any stage is written. Then: `mtc train --all`.",
    )
    cascade.add_argument("parent", help="the stage the ladder starts from (the coarsest level)")
    cascade.add_argument("--levels", type=int, default=3, help=f"how many wider stages (1 to {MAX_LEVELS}, default 3)")
    cascade.add_argument("--factor", type=int, default=2, help="width factor from one level to the next (default 2)")
    cascade.add_argument(
        "--steps", metavar="N1,N2,...", help="training.max_steps of each level, one per level (default: the parent's)"
    )
    cascade.set_defaults(handler=run_cascade)


def run_cascade(args: argparse.Namespace) -> int:
    steps = parse_steps(args.steps)
    with StageBook(args.project) as book:
        created = create_cascade(book, args.parent, args.levels, args.factor, steps)
    print(f"created a {len(created)}-level cascade from {args.parent}:")
    for record in created:
        print(f"  {record.name}  ({record.config['training']['max_steps']} steps)  {record.description}")
    print("next: `mtc train --all` trains the levels in order, each from the one before")
    return 0
