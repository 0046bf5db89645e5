"""Entry point of ``mtc``: parse, dispatch, and turn user errors into one message and exit code 1."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Callable, Sequence

from ..errors import MtcError
from . import (
    db_commands, project_commands, results_commands, sample_commands, serve_commands, show_commands, stage_commands,
    train_commands,
)

COMMAND_MODULES = (
    project_commands, show_commands, stage_commands, train_commands, db_commands, serve_commands, sample_commands,
    results_commands,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The full ``mtc`` parser; each command module adds its sub-commands."""
    parser = argparse.ArgumentParser(prog="mtc", description="Physics-informed neural networks, trained in stages.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument(
        "-C", "--project", default=".", metavar="DIR", help="project folder (default: the current folder)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mtc`` with ``argv``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    try:
        return handler(args) or 0
    except MtcError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"mtc: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mtc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`mtc status | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
