"""Workers as real processes on one database (SQLite file and PostgreSQL server): claims, crashes, resumes, cancels."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import time

import pytest

from engine.stages import StageBook
from engine.store import open_storage
from engine.store.queue import claim_next, enqueue
from engine.stages.runs import submit
from engine.stages.launchers import worker_command

from conftest import example_project, run_mtc, wait_until

FAST = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "constraints.diffusion.batch_size=32", "constraints.ends.batch_size=8"]


@pytest.fixture
def hello(tmp_path, backend):
    return example_project(tmp_path / "hello", "hello-world")


def _claim_all(project: str, results) -> None:
    storage = open_storage(project)
    names = []
    while (claim := claim_next(storage, "host", os.getpid(), "cpu")) is not None:
        names.append(claim.stage)
    results.put(names)
    storage.dispose()


def test_concurrent_claims_never_share_a_stage(hello):
    with StageBook(hello) as book:
        for _ in range(24):
            book.new_branch()
        names = [s.name for s in book.stages()]
        enqueue(book.storage, names)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    workers = [ctx.Process(target=_claim_all, args=(str(hello), results)) for _ in range(4)]
    for w in workers:
        w.start()
    claimed = [name for _ in workers for name in results.get(timeout=60)]
    for w in workers:
        w.join(timeout=30)
    assert sorted(claimed) == sorted(names)  # every stage claimed exactly once


def test_two_worker_processes_train_each_stage_once(hello):
    with StageBook(hello) as book:
        book.edit("stage1", [*FAST, "training.max_steps=20"])
        for _ in range(5):
            book.new_branch(source="stage1")
        names = [s.name for s in book.stages()]
        submit(book, names)
    procs = [subprocess.Popen(worker_command(hello), stdout=subprocess.DEVNULL) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=180) == 0
    with StageBook(hello) as book:
        stages = book.stages()
    assert {s.status for s in stages} == {"done"} and {s.attempt for s in stages} == {1}
    for s in stages:
        log = (hello / "training" / s.name / "train.log").read_text()
        assert log.count("attempt ") == 1


def _rows(storage, stage):
    return [(r["step"], r["attempt"]) for r in storage.loss_rows(stage, keys=["total"])]


def test_sigkilled_worker_is_reaped_and_its_stage_resumes_without_lost_or_duplicated_rows(hello):
    env = {**os.environ, "MTC_HEARTBEAT_S": "0.3", "MTC_STALE_S": "2", "MTC_POLL_S": "0.2", "MTC_FLUSH_S": "0.2"}
    with StageBook(hello) as book:
        book.edit("stage1", [*FAST, "training.max_steps=4000", "training.checkpoint_every=100", "training.log_every=1"])
        submit(book, ["stage1"])
        storage = book.storage
        victim = subprocess.Popen(worker_command(hello), env=env, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 450, 120, "the first worker to pass step 450")
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        killed_at = storage.get_stage("stage1").last_step
        rescuer = subprocess.Popen(worker_command(hello), env=env, stdout=subprocess.DEVNULL)
        assert rescuer.wait(timeout=300) == 0
        record = storage.get_stage("stage1")
        rows = _rows(storage, "stage1")
    assert record.status == "done" and record.attempt == 2
    steps = [step for step, _ in rows]
    assert sorted(steps) == list(range(4000))  # continuous and unique
    resumed_from = min(step for step, attempt in rows if attempt == 2)
    assert resumed_from % 100 == 0 and resumed_from <= killed_at + 1
    log = (hello / "training" / "stage1" / "train.log").read_text()
    assert f"training from step {resumed_from} (resumed from checkpoint)" in log
    writes, beats = map(int, re.search(r"bookkeeping: (\d+) loss-row writes .* (\d+) heartbeats", log).groups())
    assert writes > 0 and beats > 0  # what logging and heartbeats cost the attempt, in its own stage log


def test_a_stage_that_keeps_losing_its_worker_fails_after_the_retry_limit(hello):
    with StageBook(hello) as book:
        storage = book.storage
        enqueue(storage, ["stage1"])
        from engine.store.queue import reap_stale

        for attempt in (1, 2):
            assert claim_next(storage, "host", 1, "cpu").attempt == attempt
            time.sleep(1.1)
            assert reap_stale(storage, stale_after=1, max_attempts=2) == ["stage1"]
        record = storage.get_stage("stage1")
    assert record.status == "failed" and "not retried (limit 2)" in record.error


def test_cancel_stops_a_running_stage_and_its_queued_child(hello):
    env = {**os.environ, "MTC_HEARTBEAT_S": "0.3"}
    with StageBook(hello) as book:
        book.edit("stage1", [*FAST, "training.max_steps=100000"])
        book.new_child("stage1", "stage2")
        submit(book, ["stage2"])
        worker = subprocess.Popen(worker_command(hello), env=env, stdout=subprocess.DEVNULL)
        storage = book.storage
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 10, 60, "training to start")
        result = run_mtc("cancel", "stage1", cwd=hello)  # returns once the stage is cancelled
        assert result.returncode == 0 and "stage1: cancelled" in result.stdout, result.stdout + result.stderr
        assert worker.wait(timeout=300) == 0  # then the worker, with nothing left to train, exits
        assert storage.get_stage("stage1").status == "cancelled"
        child = storage.get_stage("stage2")
        assert child.status == "cancelled" and "parent 'stage1' cancelled" in child.error
    assert (hello / "training" / "stage1" / "checkpoint.pt").is_file()


def test_sigint_checkpoints_and_requeues_then_train_resumes(hello):
    with StageBook(hello) as book:
        book.edit("stage1", [*FAST, "training.max_steps=3000", "training.log_every=1"])
        submit(book, ["stage1"])
        worker = subprocess.Popen(worker_command(hello), stdout=subprocess.DEVNULL)
        storage = book.storage
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 10, 60, "training to start")
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=30) == 0
        record = storage.get_stage("stage1")
    assert record.status == "queued" and record.error == "interrupted: requeued"
    assert (hello / "training" / "stage1" / "checkpoint.pt").is_file()
    # no worker is left: `mtc train` picks the interrupted stage up and finishes it from its checkpoint
    result = run_mtc("train", "--stage", "stage1", cwd=hello)
    assert result.returncode == 0 and "already queued: stage1 (trained now, from their last checkpoint" in result.stdout
    with open_storage(hello) as storage:
        assert storage.get_stage("stage1").status == "done"
        steps = [row["step"] for row in storage.loss_rows("stage1", keys=["total"])]
    assert steps == list(range(3000))


def test_worker_process_survives_a_failing_stage(hello):
    text = (hello / "problem.py").read_text().replace("Eq(u, 0)", "Eq(log(u - 10), 0)")
    (hello / "problem.py").write_text(text)
    with StageBook(hello) as book:
        book.edit("stage1", [*FAST, "training.max_steps=50"])
        book.new_child("stage1", "stage2")
        book.new_branch("stage3", source="stage1")
        book.edit("stage3", ["constraints.ends.include=false"])
        submit(book, ["stage2", "stage3"])
    assert subprocess.run(worker_command(hello), stdout=subprocess.DEVNULL, timeout=120).returncode == 0
    with StageBook(hello) as book:
        s1, s2, s3 = (book.stage(n) for n in ("stage1", "stage2", "stage3"))
    assert s1.status == "failed" and "non-finite loss at step 0 in constraint 'ends'" in s1.error
    assert s2.status == "cancelled" and s3.status == "done"
