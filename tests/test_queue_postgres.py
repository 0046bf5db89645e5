"""PostgreSQL as the queue of several worker processes: 40 stages, 4 workers, one SIGKILLed mid-stage."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter

import pytest

from engine.stages import StageBook
from engine.stages.launchers import worker_command
from engine.stages.runs import submit

from conftest import example_project, wait_until

FAST = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "constraints.diffusion.batch_size=16", "constraints.ends.batch_size=4"]
STAGES, WORKERS, LONG_STEPS = 40, 4, 1500
TIMINGS = {"MTC_HEARTBEAT_S": "0.3", "MTC_STALE_S": "3", "MTC_POLL_S": "0.2", "MTC_FLUSH_S": "0.2"}


@pytest.mark.slow
def test_four_workers_claim_forty_stages_once_and_a_killed_ones_stage_resumes(tmp_path, pg_database, monkeypatch):
    monkeypatch.setenv("MTC_DB_URL", pg_database)
    project = example_project(tmp_path / "hello", "hello-world")
    with StageBook(project) as book:
        book.edit("stage1", [*FAST, f"training.max_steps={LONG_STEPS}", "training.checkpoint_every=100", "training.log_every=1"])
        for _ in range(STAGES - 1):
            book.new_branch(source="stage1", assignments=["training.max_steps=10", "training.checkpoint_every=10"])
        names = [record.name for record in book.stages()]
        assert submit(book, names).queued == names
        storage = book.storage
        env = {**os.environ, **TIMINGS}
        workers = [
            subprocess.Popen(worker_command(project), env=env, stdout=subprocess.DEVNULL, start_new_session=True)
            for _ in range(WORKERS)
        ]  # fmt: skip
        try:
            wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 300, 300, "stage1 to pass step 300")
            victim = storage.get_stage("stage1").worker_pid
            assert victim in [worker.pid for worker in workers]
            os.killpg(victim, signal.SIGKILL)
            for worker in workers:
                assert worker.wait(timeout=600) == (-signal.SIGKILL if worker.pid == victim else 0)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
        records = {record.name: record for record in book.stages()}
        steps = Counter(row["step"] for row in storage.loss_rows("stage1", keys=["total"]))

    assert {record.status for record in records.values()} == {"done"}
    assert records["stage1"].attempt == 2 and {r.attempt for n, r in records.items() if n != "stage1"} == {1}
    claims = {name: _claims(project, name) for name in names}
    assert all(len(pids) == 1 for name, pids in claims.items() if name != "stage1"), claims  # each claimed once
    first, second = claims["stage1"]
    assert first == victim and second != victim  # resumed by another worker
    assert sorted(steps) == list(range(LONG_STEPS)) and set(steps.values()) == {1}  # every step exactly once
    log = (project / "training" / "stage1" / "train.log").read_text()
    assert re.search(r"training from step [1-9]\d*00 \(resumed from checkpoint\)", log)


def _claims(project, stage: str) -> list[int]:
    """The pid of each worker that claimed ``stage``, in order (from its train.log)."""
    log = (project / "training" / stage / "train.log").read_text()
    return [int(pid) for pid in re.findall(r"attempt \d+ by pid (\d+)", log)]
