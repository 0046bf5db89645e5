"""``mtc db upgrade``: migrate the project's database to this mtc's schema."""

from __future__ import annotations

import argparse

from ..stages import upgrade_database
from ..stages.database import display_url
from ..store import database_url


def register(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="maintain the project's database")
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the schema this mtc expects")
    upgrade.set_defaults(handler=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    before, after = upgrade_database(args.project)
    where = display_url(database_url(args.project))
    if before == after:
        print(f"the database {where} is already at schema revision {after}")
    else:
        print(f"upgraded the database {where}: schema revision {before or '(none)'} -> {after}")
    return 0
