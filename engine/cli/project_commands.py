"""``mtc create``, ``mtc examples`` and ``mtc demo``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..problem import format_problem, load_problem, problem_summary
from ..project import create_project, list_examples
from .serve_commands import VoilaServer, add_address_options

DEMO_EXAMPLE = "heat-interface"  # engine.demo sets up its stages


def register(commands: argparse._SubParsersAction) -> None:
    create = commands.add_parser("create", help="create a project folder from the template or an example")
    create.add_argument("name", help="folder to create (letters, digits, '_' and '-')")
    create.add_argument("--example", help="start from a shipped example (see `mtc examples`)")
    create.add_argument("--force", action="store_true", help="overwrite the project files of an existing folder")
    create.set_defaults(handler=run_create)

    examples = commands.add_parser("examples", help="list the shipped example projects")
    examples.add_argument("--json", action="store_true", help="print JSON")
    examples.set_defaults(handler=run_examples)

    demo = commands.add_parser(
        "demo", help="create (or reuse) the seed workflow's demo project, train it and serve its configurator"
    )
    demo.add_argument("folder", nargs="?", default="mtc-demo", help="demo project folder (default: mtc-demo)")
    demo.add_argument("--max-steps", type=int, metavar="N", help="shorten the Adam stage to N steps (a quick look)")
    demo.add_argument("--no-serve", action="store_true", help="train and report, then exit (no configurator)")
    add_address_options(demo)
    demo.set_defaults(handler=run_demo)


def run_create(args: argparse.Namespace) -> int:
    folder = create_project(Path(args.project) / args.name, example=args.example, force=args.force)
    source = f"example {args.example!r}" if args.example else "the template"
    print(f"created project {folder} from {source}")
    print(f"next: cd {folder} && mtc show problem")
    return 0


def run_examples(args: argparse.Namespace) -> int:
    examples = list_examples()
    if args.json:
        print(json.dumps([{"name": e.name, "description": e.description} for e in examples], indent=2))
        return 0
    width = max((len(e.name) for e in examples), default=0)
    for e in examples:
        print(f"{e.name:<{width}}  {e.description}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Create or reuse the demo, then train it while Voila serves its configurator (curves grow
    live there), report, and keep serving until Ctrl-C; ``--no-serve`` trains, reports and exits."""
    from ..demo import prepare_demo

    folder = (Path(args.project) / args.folder).resolve()
    if (folder / "problem.py").is_file():
        print(f"using the demo project in {folder}")
    else:
        create_project(folder, example=DEMO_EXAMPLE)
        print(f"created demo project {folder} from example {DEMO_EXAMPLE!r} (MTC's multi-stage chapter)")
    print()
    print(format_problem(problem_summary(load_problem(folder))))
    pending = prepare_demo(folder, args.max_steps)
    if args.no_serve:
        return _train_demo(folder, pending)
    log = folder / ".mtc" / "logs" / "voila.log"
    with VoilaServer(folder, args.ip, args.port, log=log, token=args.token) as server:
        print(f"\nthe configurator is served at {server.url}: open it to watch the loss curves grow (log: {log})")
        code = _train_demo(folder, pending)
        if code:
            return code
        server.check_running()
        print(f"\nstill serving the demo's configurator at {server.url} (Ctrl-C stops)", flush=True)
        return server.wait()


def _train_demo(folder: Path, pending: list[str]) -> int:
    """Train the demo's unfinished stages with progress bars, then compare with the exact solution."""
    from ..demo import demo_report
    from .train_commands import train_stages

    if pending:
        print(f"training {', '.join(pending)}: an Adam branch, then an L-BFGS child from its weights")
        code = train_stages(folder, ["stage2"])
        if code:
            return code
    print()
    print(demo_report(folder))
    print(f"\nnext: cd {folder} && mtc show training && mtc status && mtc serve")
    return 0
