"""The stage API for running (engine/stages/runs.py) through the real `mtc`: reaping first, refusing at
queue time, one line for an unusable database, quiet when the reader of a pipe goes away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from engine.stages import StageBook
from engine.store import open_storage
from engine.worker.registry import pid_alive

from conftest import REPO, example_project, run_mtc, wait_until

FAST = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "constraints.diffusion.batch_size=16", "constraints.ends.batch_size=4"]


@pytest.fixture
def hello(tmp_path, backend):
    return example_project(tmp_path / "hello", "hello-world", {k: v for k, v in (s.split("=") for s in FAST)})


def _statuses(project) -> dict[str, str]:
    with open_storage(project) as storage:
        return {record.name: record.status for record in storage.list_stages()}


def test_status_and_train_reap_a_killed_worker_at_once(hello):
    with StageBook(hello) as book:
        book.edit("stage1", ["training.max_steps=100000", "training.checkpoint_every=50"])
    result = run_mtc("train", "--detach", cwd=hello)
    assert result.returncode == 0, result.stderr
    with open_storage(hello) as storage:
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 60, 120, "stage1 to pass step 60")
        os.kill(storage.get_stage("stage1").worker_pid, signal.SIGKILL)
    # the heartbeat would only go stale after 30 s: `mtc status` sees at once that the pid is gone
    status = run_mtc("status", "--json", cwd=hello)
    (row,) = json.loads(status.stdout)
    assert row["status"] == "queued" and row["worker"] is None, row
    assert row["error"].startswith("requeued: its worker (pid") and row["error"].endswith("exited")
    with open_storage(hello) as storage:  # a shorter run, so `mtc train` finishes it here
        config = storage.get_stage("stage1").config
        storage.update_config("stage1", {**config, "training": {**config["training"], "max_steps": 120}})
    train = run_mtc("train", cwd=hello)
    assert train.returncode == 0 and "already queued: stage1" in train.stdout, train.stdout + train.stderr
    assert _statuses(hello) == {"stage1": "done"}


def _break_problem(project) -> None:
    (project / "problem.py").write_text((project / "problem.py").read_text() + "\nthis is not python\n")


def _drop_a_constraint(project) -> None:
    source = (project / "problem.py").read_text()
    (project / "problem.py").write_text(source.replace('p.add_constraint("ends"', '# p.add_constraint("ends"'))


def _freeze_behind_mtcs_back(project) -> None:
    with open_storage(project) as storage:
        config = storage.get_stage("stage1").config
        storage.update_config("stage1", {**config, "nets": {"NN": {**config["nets"]["NN"], "trainable": False}}})


@pytest.mark.parametrize(
    "spoil, message",
    [
        (_break_problem, "problem.py:"),
        (_drop_a_constraint, "stage 'stage1' no longer matches problem.py"),
        (_freeze_behind_mtcs_back, "every network of stage 'stage1' is frozen, so it has nothing to train"),
    ],
)
def test_a_stage_that_cannot_train_is_refused_when_queued(hello, spoil, message):
    with StageBook(hello) as book:
        book.new_child("stage1", "stage2")
    spoil(hello)
    result = run_mtc("train", "--stage", "stage2", cwd=hello)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert _statuses(hello) == {"stage1": "draft", "stage2": "draft"}  # nothing queued, no attempt burnt


def test_an_unusable_database_url_is_one_line_and_writes_nothing(tmp_path, pg_database):
    project = example_project(tmp_path / "hello", "hello-world")
    wrong = pg_database.replace(":mtc-test-secret@", ":wrong@")
    for command in (["status"], ["train"], ["stage", "new", "x"]):
        result = subprocess.run(
            [sys.executable, "-m", "engine.cli", *command], cwd=project, capture_output=True, text=True,
            env={**os.environ, "MTC_DB_URL": wrong},
        )  # fmt: skip
        assert result.returncode == 1, result
        assert result.stderr.count("\n") == 1 and "password authentication failed" in result.stderr
        assert "mtc:***@127.0.0.1" in result.stderr and "wrong" not in result.stderr
    assert _statuses(project) == {"stage1": "draft"}


def test_output_piped_into_head_ends_quietly(tmp_path):
    project = example_project(tmp_path / "hello", "hello-world")
    log = project / "training" / "stage1" / "train.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {n}\n" for n in range(200_000)))  # far more than a pipe holds
    result = subprocess.run(
        f"{sys.executable} -m engine.cli logs stage1 | head -n 2", shell=True, cwd=project, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.stdout == "line 0\nline 1\n" and result.stderr == ""


def test_cancel_kills_a_worker_that_does_not_answer(hello):
    with StageBook(hello) as book:
        book.edit("stage1", ["training.max_steps=100000"])
    assert run_mtc("train", "--detach", cwd=hello).returncode == 0
    with open_storage(hello) as storage:
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 10, 120, "stage1 to start")
        pid = storage.get_stage("stage1").worker_pid
    os.kill(pid, signal.SIGSTOP)  # hung: it neither heartbeats nor sees the cancel flag
    result = run_mtc("cancel", "stage1", "--timeout", "2", cwd=hello)
    assert result.returncode == 0 and result.stdout == "stage1: cancelled (worker killed)\n", result.stdout + result.stderr
    wait_until(lambda: not pid_alive(pid), 10, "the worker to be gone")
    with open_storage(hello) as storage:
        record = storage.get_stage("stage1")
    assert record.status == "cancelled" and f"its worker (pid {pid} on " in record.error and "was killed" in record.error
