"""Separate processes running `mtc stage set` / `mtc stage new` on one database (SQLite, PostgreSQL) at once.

Each worker process runs the real CLI entry point (`engine.cli.main.main`) ten times,
so the four processes pay Python's import cost once each instead of forty times.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sqlite3
import traceback
from collections import Counter
from pathlib import Path

from engine.project import create_project
from engine.stages import StageBook

WORKERS = 4
COMMANDS = 10
SHARED_KEYS = ("training.max_steps", "training.seed", "training.log_every", "training.checkpoint_every")


def _commands(project: Path, worker: int) -> list[list[str]]:
    """Cycle: edit this worker's key of the shared stage, edit its own stage, create a branch."""
    commands = []
    for i in range(COMMANDS):
        if i % 3 == 0:
            action = ["stage", "set", "shared", f"{SHARED_KEYS[worker]}={i + 1}"]
        elif i % 3 == 1:
            action = ["stage", "set", f"own{worker}", f"training.max_steps={i + 1}"]
        else:
            action = ["stage", "new", "--set", f"training.seed={worker}"]
        commands.append(["-C", str(project), *action])
    return commands


def _work(project: Path, worker: int, start, results) -> None:
    """Run this worker's commands through `mtc`'s entry point; report failures with their stderr."""
    from engine.cli.main import main

    failures = []
    try:
        start.wait(timeout=60)
        for argv in _commands(project, worker):
            stderr = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
                code = main(argv)
            if code != 0:
                failures.append(f"{' '.join(argv)} -> {code}: {stderr.getvalue()}")
    except BaseException:
        failures.append(traceback.format_exc())
    results.put(failures)


def test_parallel_stage_commands_lose_nothing(tmp_path: Path, backend: str):
    project = create_project(tmp_path / "hw", example="hello-world")
    with StageBook(project) as book:
        book.init_conf()
        book.new_branch("shared")
        for worker in range(WORKERS):
            book.new_branch(f"own{worker}")

    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=_work, args=(project, n, start, results)) for n in range(WORKERS)]
    for process in processes:
        process.start()
    start.set()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert reports == [[]] * WORKERS, "\n".join(line for report in reports for line in report)

    with StageBook(project) as book:
        by_name = {stage.name: stage for stage in book.stages()}
    shared = by_name.pop("shared").config["training"]
    assert [shared[key.split(".")[1]] for key in SHARED_KEYS] == [10] * WORKERS  # no lost update
    for worker in range(WORKERS):
        assert by_name.pop(f"own{worker}").config["training"]["max_steps"] == 8
    new = {name: stage for name, stage in by_name.items() if name != "stage1"}
    assert sorted(new) == sorted(f"stage{n}" for n in range(2, 2 + WORKERS * 3))
    assert Counter(stage.config["training"]["seed"] for stage in new.values()) == {w: 3 for w in range(WORKERS)}
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(project / ".mtc" / "mtc.db")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
