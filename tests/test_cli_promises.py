"""What README promises about running stages, done as a user does it, with real processes:
`mtc train --all --workers N`, `mtc cancel --all`, `mtc logs --follow`, Ctrl-C of a foreground
`mtc train` and the `mtc train` that resumes it, `mtc serve --ip`, and `training.device=auto`
picking CUDA where there is a GPU.

Waits are ceilings for a loaded machine; what is asserted is what happened and in which order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.stages import StageBook
from engine.store import open_storage
from engine.worker.registry import live_workers

from conftest import example_project, run_mtc, wait_until
from processes import free_port, mtc_process, stop_workers, wait_for_text

TINY = {"nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "constraints.diffusion.batch_size": 32, "constraints.ends.batch_size": 8}
ENDLESS = {**TINY, "training.max_steps": 1_000_000}  # runs until cancelled
QUICK = {"MTC_HEARTBEAT_S": "0.3", "MTC_POLL_S": "0.2", "MTC_FLUSH_S": "0.2"}  # inherited by the workers


@pytest.fixture
def hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for key, value in QUICK.items():
        monkeypatch.setenv(key, value)
    project = example_project(tmp_path / "hello", "hello-world", TINY)
    yield project
    stop_workers(project)


def mtc_ok(*args: str, cwd: Path) -> str:
    result = run_mtc(*args, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def statuses(project: Path) -> dict[str, str]:
    return {row["name"]: row["status"] for row in json.loads(mtc_ok("status", "--json", cwd=project))}


def last_step(project: Path, stage: str) -> int:
    with open_storage(project) as storage:
        return storage.get_stage(stage).last_step or 0


@pytest.mark.slow
def test_train_all_with_two_workers_trains_every_unfinished_stage_in_two_processes(hello):
    with StageBook(hello) as book:
        book.edit("stage1", {"training.max_steps": 800})
        book.new_branch("stage2", source="stage1")
        book.new_child("stage1", "stage3", {"training.max_steps": 850})
    output = mtc_ok("train", "--all", "--workers", "2", cwd=hello)
    assert "queued stage1, stage2, stage3" in output
    with open_storage(hello) as storage:
        records = {r.name: r for r in storage.list_stages()}
    assert {name: r.status for name, r in records.items()} == {"stage1": "done", "stage2": "done", "stage3": "done"}
    # the two branches ran at the same time, one per worker process
    assert records["stage1"].worker_pid != records["stage2"].worker_pid
    assert records["stage2"].started_at < records["stage1"].finished_at
    assert "nothing to train" in mtc_ok("train", "--all", cwd=hello)  # --all: only stages not done


def test_cancel_all_stops_the_running_stage_and_the_queued_one(hello):
    with StageBook(hello) as book:
        book.edit("stage1", ENDLESS)
        book.new_branch("stage2", source="stage1")
    assert "training in the background" in mtc_ok("train", "--all", "--detach", cwd=hello)  # one worker
    wait_until(lambda: last_step(hello, "stage1") > 10, 300, "stage1 to train")
    assert statuses(hello) == {"stage1": "running", "stage2": "queued"}
    output = mtc_ok("cancel", "--all", cwd=hello)
    assert output.splitlines() == ["stage1: cancelled", "stage2: cancelled"]
    assert statuses(hello) == {"stage1": "cancelled", "stage2": "cancelled"}
    assert (hello / "training" / "stage1" / "checkpoint.pt").is_file()
    wait_until(lambda: not live_workers(hello), 120, "the worker to exit, with nothing left to train")


def test_logs_follow_prints_while_the_stage_runs_and_returns_when_it_stops(hello, tmp_path):
    with StageBook(hello) as book:
        book.edit("stage1", {**ENDLESS, "training.checkpoint_every": 200})
    mtc_ok("train", "--detach", cwd=hello)
    wait_until(lambda: last_step(hello, "stage1") > 10, 300, "stage1 to train")
    with mtc_process(["logs", "stage1", "--follow"], tmp_path / "follow.log", cwd=hello) as follow:
        wait_for_text(tmp_path / "follow.log", "checkpoint at step", 300, follow)  # printed as it was written
        assert follow.poll() is None  # still following: the stage runs
        assert mtc_ok("cancel", "stage1", cwd=hello) == "stage1: cancelled\n"
        assert follow.wait(timeout=120) == 0  # returns by itself once the stage stopped
    printed = (tmp_path / "follow.log").read_text()
    # what it printed is the log as it grew (the worker writes its closing line after the status)
    assert "training from step 0" in printed and (hello / "training" / "stage1" / "train.log").read_text().startswith(printed)


@pytest.mark.slow
def test_ctrl_c_of_a_foreground_train_requeues_and_the_next_train_resumes(hello, tmp_path):
    with StageBook(hello) as book:
        book.edit("stage1", {"training.max_steps": 1000, "training.log_every": 1, "training.checkpoint_every": 100})
    with mtc_process(["train"], tmp_path / "train.log", cwd=hello) as train:
        wait_until(lambda: last_step(hello, "stage1") > 150, 300, "stage1 to pass its first checkpoint")
        os.killpg(train.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        assert train.wait(timeout=120) == 130
    assert "interrupted: running stages were checkpointed and queued again" in (tmp_path / "train.log").read_text()
    with open_storage(hello) as storage:
        record = storage.get_stage("stage1")
    assert record.status == "queued" and record.error == "interrupted: requeued"
    interrupted_at = record.last_step
    assert interrupted_at < 999
    output = mtc_ok("train", cwd=hello)
    assert "already queued: stage1 (trained now, from their last checkpoint" in output
    with open_storage(hello) as storage:
        assert storage.get_stage("stage1").status == "done"
        steps = [row["step"] for row in storage.loss_rows("stage1", keys=["total"])]
    assert steps == list(range(1000))  # resumed: no step lost, none twice


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses something listens on at ``port`` (from /proc/net/tcp; no traffic sent)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


def test_serve_ip_listens_on_that_address_only(hello, tmp_path):
    port = free_port()
    # a loopback address other than 127.0.0.1: reachable from this machine only, and no request is sent
    with mtc_process(["serve", "--ip", "127.0.0.2", "--port", str(port)], tmp_path / "serve.log", cwd=hello) as server:
        wait_until(lambda: listening_addresses(port) or server.poll() is not None, 300, "the server to listen")
        assert listening_addresses(port) == {"127.0.0.2"}
        assert f"at http://127.0.0.2:{port}/" in (tmp_path / "serve.log").read_text()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: training.device=auto can only pick the CPU")
def test_device_auto_trains_on_cuda_where_there_is_one(hello):
    with StageBook(hello) as book:
        book.edit("stage1", {"training.device": "auto", "training.max_steps": 50})
    mtc_ok("train", cwd=hello)
    rows = json.loads(mtc_ok("status", "--json", cwd=hello))
    assert rows[0]["status"] == "done" and rows[0]["device"].startswith("cuda")
    saved = torch.load(hello / "training" / "stage1" / "checkpoint.pt", weights_only=False)
    assert {t.device.type for t in saved["networks"]["NN"].values()} == {"cuda"}
