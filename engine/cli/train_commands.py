"""``mtc train``, ``mtc worker``, ``mtc status``, ``mtc cancel``, ``mtc logs`` and ``mtc infer``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import MtcError
from ..store import Storage, open_storage
from ..stages import StageBook
from .first_order_form import add_flag, switch_to_first_order
from .progress import watch
from .sampled import prepare_sampled
from .stage_control import cancel_stage, follow_log, stage_status, status_table


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="queue stages (with unfinished ancestors) and train them")
    train.add_argument("--stage", action="append", dest="stages", metavar="S", help="stage to train (repeatable; default stage1)")
    train.add_argument("--all", action="store_true", help="train every stage that is not done")
    train.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    train.add_argument("--device", metavar="D", help="auto, cpu, cuda or cuda:N (default: each stage's training.device)")
    train.add_argument("--detach", action="store_true", help="train in the background and return at once")
    train.add_argument("--sampled", action="store_true", help="draw batches from `mtc sample`'s files (training.sampled=true)")
    add_flag(train)
    train.set_defaults(handler=run_train)

    worker = commands.add_parser("worker", help="run one worker process in this terminal until the queue is empty")
    worker.add_argument("--device", metavar="D", help="auto, cpu, cuda or cuda:N")
    worker.set_defaults(handler=run_worker_command)

    status = commands.add_parser("status", help="status, step and last loss of every stage")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=run_status)

    cancel = commands.add_parser("cancel", help="stop a queued or running stage (checkpointed)")
    cancel.add_argument("stage", nargs="?", help="stage to cancel")
    cancel.add_argument("--all", action="store_true", help="cancel every queued or running stage")
    cancel.add_argument("--timeout", type=float, default=20.0, help="seconds to wait before killing a hung worker")
    cancel.set_defaults(handler=run_cancel)

    logs = commands.add_parser("logs", help="show a stage's training log")
    logs.add_argument("stage")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing while the stage runs")
    logs.set_defaults(handler=run_logs)

    infer = commands.add_parser("infer", help="evaluate a trained stage on points from a CSV file")
    infer.add_argument("--stage", required=True, metavar="S")
    infer.add_argument("--input", required=True, type=Path, help="CSV with one column per variable")
    infer.add_argument("--output", required=True, type=Path, help="CSV to write (inputs and every output)")
    infer.add_argument("--device", default="cpu", metavar="D")
    infer.set_defaults(handler=run_infer)


def _targets(storage: Storage, args: argparse.Namespace) -> list[str]:
    if args.all:
        return [r.name for r in storage.list_stages() if r.status not in ("done", "running", "queued")]
    return args.stages or ["stage1"]


def run_train(args: argparse.Namespace) -> int:
    project = Path(args.project).resolve()
    if args.only_first_order_ufunc and switch_to_first_order(project):
        with StageBook(project) as book:
            book.init_conf()  # stages that have not run get the new networks and constraints
    with open_storage(project) as storage:
        targets = _targets(storage, args)
    prepare_sampled(project, targets, args.sampled)
    return train_stages(project, targets, args.workers, args.device, args.detach)


def train_stages(project: Path, targets: list[str], workers: int = 1, device: str | None = None, detach: bool = False) -> int:
    """Queue ``targets`` (with unfinished ancestors) and train them: detached, or here with progress bars."""
    if workers < 1:
        raise MtcError(f"--workers must be at least 1, got {workers}")
    from ..train.device import resolve_device
    from ..worker.launch import start_detached, start_foreground
    from ..worker.submit import submit

    if device:
        resolve_device(device)
    with open_storage(project) as storage:
        submission = submit(storage, targets)
        for name in submission.already_done:
            print(f"{name} is already done (`mtc clean --stage {name}` to train it again)")
        if not submission.pending:
            print("nothing to train")
            return 0
        if submission.waiting:
            print(f"already queued: {', '.join(submission.waiting)} (trained now, from their last checkpoint where they have one)")
        if submission.queued:
            print(f"queued {', '.join(submission.queued)}")
        if detach:
            pids = [start_detached(project, device) for _ in range(workers)]
            print(f"training in the background (worker pid {', '.join(map(str, pids))}): `mtc status`, `mtc logs STAGE -f`")
            return 0
        processes = start_foreground(project, workers, device)
        try:
            watch(storage, submission.pending, processes)
        except KeyboardInterrupt:
            for process in processes:
                process.wait()
            print("\ninterrupted: running stages were checkpointed and queued again; `mtc train` resumes them")
            return 130
        failed = [r for r in storage.list_stages() if r.name in submission.pending and r.status != "done"]
        for record in failed:
            print(f"{record.name}: {record.status}{': ' + record.error if record.error else ''}", file=sys.stderr)
        return 1 if failed else 0


def run_worker_command(args: argparse.Namespace) -> int:
    from ..worker.runner import run_worker

    trained = run_worker(args.project, args.device)
    print(f"worker trained {', '.join(trained) if trained else 'nothing'}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    with open_storage(args.project) as storage:
        rows = stage_status(storage)
    print(json.dumps(rows, indent=2) if args.json else status_table(rows))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    if not args.stage and not args.all:
        raise MtcError("name a stage to cancel, or pass --all")
    with open_storage(args.project) as storage:
        names = [r.name for r in storage.list_stages() if r.status in ("queued", "running")] if args.all else [args.stage]
        for name in names:
            print(f"{name}: {cancel_stage(storage, name, args.timeout)}")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    with open_storage(args.project) as storage:
        storage.get_stage(args.stage)
        follow_log(storage, Path(args.project), args.stage, args.follow)
    return 0


def run_infer(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..inference import load_stage

    if not args.input.is_file():
        raise MtcError(f"input file {args.input} does not exist")
    model = load_stage(args.project, args.stage, args.device)
    frame = pd.read_csv(args.input, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    outputs = model.predict({c: frame[c].to_numpy() for c in frame.columns})
    result = frame.assign(**outputs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_name(f".{args.output.name}.partial")
    result.to_csv(partial, index=False)
    partial.replace(args.output)
    print(f"wrote {len(result)} rows with {', '.join(outputs)} to {args.output}")
    for name, value in model.unknowns.items():
        print(f"unknown {name} = {value:.10g}")
    return 0
