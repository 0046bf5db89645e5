"""``mtc init-conf``, ``mtc stage ...``, ``mtc clean`` and ``mtc export``: thin wrappers over ``StageBook``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config.balancing import balancing_warning
from ..kinds import precision_warning
from ..stages import StageBook
from ..stages.branch_warnings import frozen_branch_warning
from ..stages.database import display_url
from ..store import STAGE_KINDS, StageRecord, database_url
from .cascade_commands import register_cascade
from .first_order_form import add_flag, switch_to_first_order
from .sweep_commands import register_sweep

SET_HELP = "a setting for the new stage (repeatable), e.g. --set training.max_steps=4000; see docs/config.md"


def register(commands: argparse._SubParsersAction) -> None:
    init = commands.add_parser(
        "init-conf",
        help="create the stage database, or merge every stage with an edited problem.py",
        description="The first time: create the database and stage1 with the default settings. Later: bring "
        "every stage in line with problem.py (new networks/constraints get defaults, removed ones are "
        "dropped, every other setting is kept) and print what changed.",
    )
    init.add_argument(
        "--reset", action="store_true", help="back up the database, then delete every stage and start over"
    )
    add_flag(init)
    init.set_defaults(handler=run_init_conf)

    stage = commands.add_parser("stage", help="create, edit, rename, delete and list training stages")
    actions = stage.add_subparsers(dest="action", metavar="ACTION", required=True)

    new = actions.add_parser("new", help="a new training branch (trains from scratch)")
    new.add_argument("name", nargs="?", help="its name (default: the next free stageN)")
    new.add_argument(
        "--from", dest="source", metavar="STAGE", help="start from this stage's settings (default: the defaults)"
    )
    _add_settings(new)
    new.set_defaults(handler=run_new)

    child = actions.add_parser(
        "child",
        help="a child stage: continues from PARENT's weights, copies its settings",
        description="A child stage copies PARENT's settings. --kind standard (the default) continues from "
        "PARENT's weights; --kind correction freezes PARENT's model and adds eps * u_corr for each network "
        "output (multi-stage training to high precision, see docs/architecture.md): eps and the Fourier "
        "feature scale sigma = 2 pi f_d are computed from PARENT's residual when the stage starts. --kind prune "
        "(KAN networks) removes PARENT's hidden nodes and edges whose activations are below nets.<NET>.node_th and "
        "edge_th, then trains on.",
    )
    child.add_argument("parent", help="the stage to continue from")
    child.add_argument("name", nargs="?", help="its name (default: the next free stageN)")
    child.add_argument(
        "--kind", choices=STAGE_KINDS, default="standard",
        help="standard: continue training PARENT's networks; correction: add correction networks to PARENT's frozen "
        "model; prune: remove PARENT's small KAN nodes and edges, then train",
    )  # fmt: skip
    _add_settings(child)
    child.set_defaults(handler=run_child)

    edit = actions.add_parser("set", help="change settings of a stage that has not run yet")
    edit.add_argument("stage")
    edit.add_argument("assignments", nargs="*", metavar="KEY=VALUE", help="settings to change, all or none")
    edit.add_argument("--description", help="a new description")
    edit.set_defaults(handler=run_set)

    rename = actions.add_parser("rename", help="rename a stage (its training/ folder moves with it)")
    rename.add_argument("old")
    rename.add_argument("new")
    rename.set_defaults(handler=run_rename)

    remove = actions.add_parser("rm", help="delete a stage, its results and its training/ folder")
    remove.add_argument("stage")
    remove.add_argument("--recursive", action="store_true", help="also delete its child stages")
    remove.set_defaults(handler=run_rm)

    listing = actions.add_parser("list", help="the stages: name, parent, status, description, max_steps, optimizer")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    register_sweep(actions)
    register_cascade(actions)

    clean = commands.add_parser("clean", help="delete training results but keep the stages (back to draft)")
    clean.add_argument("--stage", help="only this stage (default: all)")
    clean.set_defaults(handler=run_clean)

    export = commands.add_parser(
        "export", help="a stage's loss history as a table (stage, attempt, step, wall_time, key, value)"
    )
    export.add_argument("--stage", required=True)
    export.add_argument("--format", choices=("csv", "parquet"), help="default: parquet for a .parquet file, else csv")
    export.add_argument("--output", metavar="FILE", help="write here (default: CSV to standard output)")
    export.set_defaults(handler=run_export)


def _add_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    parser.add_argument("--description", default="", help="what this stage is for")


def run_init_conf(args: argparse.Namespace) -> int:
    if args.only_first_order_ufunc:
        switch_to_first_order(Path(args.project))
    with StageBook(args.project) as book:
        report = book.init_conf(reset=args.reset)
    if report.database_created:
        print(f"created the database {display_url(database_url(args.project))}")
    if report.backup is not None:
        print(f"backed up the database to {report.backup}")
    if report.deleted:
        print(f"deleted {len(report.deleted)} stage(s) and their results: {', '.join(report.deleted)}")
    if report.created is not None:
        print(f"created {report.created.name} ({report.created.description}) with the default settings")
    else:
        print(f"merged the settings of {len(report.changes)} stage(s) with problem.py:")
        for changes in report.changes:
            print(f"  {changes.stage}: {changes.describe()}")
    print("next: `mtc show training`, `mtc stage new`, `mtc stage child STAGE`")
    return 0


def run_new(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        record = book.new_branch(args.name, args.source, args.assignments, args.description)
    origin = f"the settings of {args.source}" if args.source else "the default settings"
    print(f"created {record.name}: a new training branch from {origin}")
    _warn(record)
    return 0


def run_child(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        record = book.new_child(args.parent, args.name, args.assignments, args.description, kind=args.kind)
    if record.kind == "correction":
        print(
            f"created {record.name}: a correction stage of {record.parent} (its model frozen, plus eps * u_corr "
            "per network output; eps and f_d are computed from its residual when the stage starts)"
        )
    elif record.kind == "prune":
        print(
            f"created {record.name}: a prune stage of {record.parent} (its KAN nodes and edges below "
            "nets.<NET>.node_th and edge_th are removed when it starts, then it trains on)"
        )
    else:
        print(f"created {record.name}: a child of {record.parent} (continues from its weights)")
    _warn(record)
    return 0


def run_set(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        record = book.edit(args.stage, args.assignments, args.description)
    changed = list(args.assignments) + ([f"description={args.description!r}"] if args.description is not None else [])
    print(f"updated {record.name}: {', '.join(changed)}")
    _warn(record)
    return 0


def _warn(record: StageRecord) -> None:
    warnings = [
        precision_warning(record.name, record.kind, record.config),
        frozen_branch_warning(record.name, record.parent, record.config),
        balancing_warning(record.name, record.config),
    ]
    for warning in filter(None, warnings):
        print(f"mtc: warning: {warning}", file=sys.stderr)


def run_rename(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        book.rename(args.old, args.new)
    print(f"renamed {args.old} to {args.new}")
    return 0


def run_rm(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        deleted = book.remove(args.stage, recursive=args.recursive)
    print(f"deleted {', '.join(deleted)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        rows = [
            {
                "name": record.name,
                "parent": record.parent,
                "kind": record.kind,
                "status": record.status,
                "description": record.description,
                "max_steps": record.config["training"]["max_steps"],
                "optimizer": record.config["optimizer"]["name"],
            }
            for record in book.stages()
        ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = {key: key.upper() for key in ("name", "parent", "kind", "status", "max_steps", "optimizer", "description")}
    table = [header, *({key: "-" if row[key] is None else str(row[key]) for key in header} for row in rows)]
    widths = {key: max(len(row[key]) for row in table) for key in header}
    for row in table:
        print("  ".join(row[key].ljust(widths[key]) for key in header).rstrip())
    return 0


def run_clean(args: argparse.Namespace) -> int:
    with StageBook(args.project) as book:
        cleaned = book.clean(args.stage)
    print(f"deleted the results of {', '.join(cleaned) or 'no stage'}; the stages are kept (status draft)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..stages.export import export_format, loss_table, write_table  # pandas: imported only when needed

    fmt = export_format(args.format, args.output)
    with StageBook(args.project) as book:
        frame = loss_table(book.storage, args.stage)
    write_table(frame, fmt, args.output, sys.stdout)
    if args.output is not None:
        print(f"wrote {len(frame)} loss rows of {args.stage} to {args.output} ({fmt})")
    return 0
