"""``--only-first-order-ufunc`` on ``mtc init-conf`` and ``mtc train``: switch the project to MTC's first-order form."""

from __future__ import annotations

import argparse
from pathlib import Path

FLAG = "--only-first-order-ufunc"
HELP = "rewrite every higher derivative of a network as a new network (MTC's); recorded on the project"


def add_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--only-first-order-ufunc`` option."""
    parser.add_argument(FLAG, action="store_true", help=HELP)


def switch_to_first_order(project: Path) -> bool:
    """Record the first-order form (the rewritten problem must load first); True when it was not recorded yet."""
    from ..problem import load_problem
    from ..problem.first_order import is_recorded, record_first_order

    if is_recorded(project):
        return False
    load_problem(project, first_order=True)  # a problem that does not rewrite: nothing is recorded
    record_first_order(project)
    print("recorded: this project now uses only first-order derivatives of networks (--only-first-order-ufunc)")
    return True
