"""``mtc train``, ``mtc worker``, ``mtc status``, ``mtc cancel``, ``mtc logs`` and ``mtc infer``: thin callers of
``engine.stages.runs``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import MtcError
from ..stages import StageBook, runs
from ..stages.launchers import LAUNCHERS, Launcher, LocalLauncher, SlurmLauncher
from ..stages.launchers.slurm import slurm_options
from ..store import Storage, open_storage
from .first_order_form import add_flag, switch_to_first_order
from .progress import watch
from .stage_control import follow_log, status_table

_SLURM_FLAGS = {"partition": "--partition", "gpus_per_worker": "--gpus-per-worker", "time": "--time", "slurm_option": "--slurm-option"}


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="queue stages (with unfinished ancestors) and train them")
    train.add_argument("--stage", action="append", dest="stages", metavar="S", help="stage to train (repeatable; default stage1)")
    train.add_argument("--all", action="store_true", help="train every stage that is not done")
    train.add_argument("--workers", type=int, default=1, metavar="K", help="worker processes or SLURM jobs (default 1)")
    train.add_argument("--device", metavar="D", help="auto, cpu, cuda or cuda:N (default: each stage's training.device)")
    train.add_argument("--detach", action="store_true", help="train in the background and return at once")
    train.add_argument("--launcher", choices=sorted(LAUNCHERS), default="local", help="where workers run (default local)")
    slurm = train.add_argument_group("--launcher slurm (a job array of `mtc worker`, see docs/scale-out.md)")
    slurm.add_argument("--partition", metavar="P", help="SLURM partition")
    slurm.add_argument("--gpus-per-worker", type=int, metavar="N", help="GPUs of each worker job (default 0)")
    slurm.add_argument("--time", metavar="HH:MM:SS", help="time limit of each job; it is requeued when it runs out (default 04:00:00)")
    slurm.add_argument("--slurm-option", action="append", metavar="KEY=VALUE", help="any other sbatch option (repeatable)")
    train.add_argument("--sampled", action="store_true", help="draw batches from `mtc sample`'s files (training.sampled=true)")
    add_flag(train)
    train.set_defaults(handler=run_train)

    worker = commands.add_parser("worker", help="run one worker process in this terminal until the queue is empty")
    worker.add_argument("--device", metavar="D", help="auto, cpu, cuda or cuda:N")
    worker.set_defaults(handler=run_worker_command)

    status = commands.add_parser("status", help="status, step, last loss and worker (pid or SLURM job, host) of every stage")
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


def _launcher(args: argparse.Namespace) -> Launcher:
    given = [flag for key, flag in _SLURM_FLAGS.items() if getattr(args, key) is not None]
    if args.launcher == "local":
        if given:
            raise MtcError(f"{', '.join(given)} only apply to --launcher slurm")
        return LocalLauncher(args.device, args.detach)
    if args.detach:
        raise MtcError("--detach is for --launcher local: SLURM workers always run in the background")
    return SlurmLauncher(
        args.partition, args.gpus_per_worker or 0, args.time or SlurmLauncher.time,
        slurm_options(args.slurm_option or []), args.device,
    )  # fmt: skip


def run_train(args: argparse.Namespace) -> int:
    launcher = _launcher(args)
    project = Path(args.project).resolve()
    if args.only_first_order_ufunc and switch_to_first_order(project):
        with StageBook(project) as book:
            book.init_conf()  # stages that have not run get the new networks and constraints
    with StageBook(project) as book:
        runs.reap(book.storage)
        targets = _targets(book.storage, args)
    return train_stages(project, targets, args.workers, launcher=launcher, sampled=args.sampled)


def train_stages(
    project: Path, targets: list[str], workers: int = 1, device: str | None = None, detach: bool = False,
    launcher: Launcher | None = None, sampled: bool = False,
) -> int:  # fmt: skip
    """Queue ``targets`` (with unfinished ancestors) and train them: here with progress bars, detached, or on SLURM."""
    launcher = launcher or LocalLauncher(device, detach)
    with StageBook(project) as book:
        run = runs.train(book, targets, launcher, workers, sampled)
        submission = run.submission
        for name in submission.already_done:
            print(f"{name} is already done (`mtc clean --stage {name}` to train it again)")
        if not submission.pending:
            print("nothing to train")
            return 0
        if submission.waiting:
            print(f"already queued: {', '.join(submission.waiting)} (trained now, from their last checkpoint where they have one)")
        if submission.queued:
            print(f"queued {', '.join(submission.queued)}")
        ids = ", ".join(job.id for job in run.jobs)
        if launcher.name == "slurm":
            print(f"submitted SLURM job {ids} (one `mtc worker` each): `mtc status` shows which job runs which stage")
            return 0
        processes = [job.process for job in run.jobs if job.process is not None]
        if not processes:
            print(f"training in the background (worker pid {ids}): `mtc status`, `mtc logs STAGE -f`")
            return 0
        try:
            watch(book.storage, submission.pending, processes)
        except KeyboardInterrupt:
            for process in processes:
                process.wait()
            print("\ninterrupted: running stages were checkpointed and queued again; `mtc train` resumes them")
            return 130
        failed = [r for r in book.stages() if r.name in submission.pending and r.status != "done"]
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
        rows = runs.status(storage)
    print(json.dumps(rows, indent=2) if args.json else status_table(rows))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    if not args.stage and not args.all:
        raise MtcError("name a stage to cancel, or pass --all")
    with open_storage(args.project) as storage:
        names = [r.name for r in storage.list_stages() if r.status in ("queued", "running")] if args.all else [args.stage]
        for name in names:
            print(f"{name}: {runs.cancel(storage, name, args.timeout)}")
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
