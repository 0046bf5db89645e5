"""`mtc train --launcher slurm` on a real single-node SLURM cluster (tests/slurm_cluster.py) with PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from engine.errors import MtcError
from engine.stages import StageBook
from engine.stages.launchers.slurm import slurm_options, time_minutes
from engine.store import open_storage

from conftest import example_project, run_mtc, wait_until

FAST = ["nets.NN.layer_size=8", "nets.NN.nr_layers=2", "constraints.diffusion.batch_size=16", "constraints.ends.batch_size=4"]
STEPS = 8000
TIMINGS = {"MTC_HEARTBEAT_S": "0.5", "MTC_STALE_S": "5", "MTC_POLL_S": "0.3", "MTC_FLUSH_S": "0.3"}


@pytest.fixture
def on_postgres(tmp_path, pg_database, monkeypatch):
    monkeypatch.setenv("MTC_DB_URL", pg_database)
    for key, value in TIMINGS.items():
        monkeypatch.setenv(key, value)
    return example_project(tmp_path / "hello", "hello-world", {k: v for k, v in (s.split("=") for s in FAST)})


def _rows(project) -> dict[str, dict]:
    result = run_mtc("status", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


@pytest.mark.slow
def test_two_slurm_jobs_train_two_stages_and_a_cancelled_jobs_stage_resumes(on_postgres, slurm):
    project = on_postgres
    with StageBook(project) as book:
        book.edit("stage1", [f"training.max_steps={STEPS}", "training.checkpoint_every=500", "training.log_every=10"])
        book.new_branch("stage2", source="stage1", assignments=["training.max_steps=5000"])
    result = run_mtc("train", "--all", "--launcher", "slurm", "--workers", "2", "--time", "00:30:00", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = re.search(r"submitted SLURM job (\S+), (\S+) \(one `mtc worker` each\)", result.stdout)
    assert jobs, result.stdout
    submitted = set(jobs.groups())
    assert submitted <= set(re.findall(r"^(\S+) ", slurm.squeue(), re.M)), slurm.squeue()  # both in squeue

    with open_storage(project) as storage:
        wait_until(lambda: {r.status for r in storage.list_stages()} == {"running"}, 300, "both stages to run")
        rows = _rows(project)
        assert {rows[name]["worker_job"] for name in ("stage1", "stage2")} == submitted
        table = run_mtc("status", cwd=project).stdout
        for job in submitted:  # `mtc status` names the job (and host) of each stage
            assert re.search(rf"job {re.escape(job)} on \S+", table), table
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 1200, 300, "stage1 to pass step 1200")
        cancelled = storage.get_stage("stage1").worker_job
        subprocess.run(["scancel", cancelled], check=True)
        wait_until(lambda: {r.status for r in storage.list_stages()} == {"done"}, 600, "both stages to finish")
        stage1 = storage.get_stage("stage1")
        steps = [row["step"] for row in storage.loss_rows("stage1", keys=["total"])]
    (other,) = submitted - {cancelled}
    assert stage1.attempt == 2 and stage1.worker_job == other  # resumed by the other job's worker
    assert sorted(steps) == [*range(0, STEPS, 10), STEPS - 1]  # every logged step exactly once
    log = (project / "training" / "stage1" / "train.log").read_text()
    resumed = re.search(r"training from step (\d+) \(resumed from checkpoint\)", log)
    assert resumed and int(resumed.group(1)) > 1200, log  # from the checkpoint written when its job was cancelled


@pytest.mark.slow
def test_a_preempted_job_checkpoints_its_stage_and_is_requeued_by_submitit(on_postgres, slurm):
    project = on_postgres
    with StageBook(project) as book:
        book.edit("stage1", [f"training.max_steps={STEPS}", "training.checkpoint_every=500", "training.log_every=10"])
    result = run_mtc("train", "--launcher", "slurm", "--time", "00:30:00", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    (job,) = re.findall(r"submitted SLURM job (\S+) ", result.stdout)
    with open_storage(project) as storage:
        wait_until(lambda: (storage.get_stage("stage1").last_step or 0) > 1200, 300, "stage1 to pass step 1200")
        subprocess.run(["scancel", "--signal=USR2", job], check=True)  # what SLURM sends before preempting
        wait_until(lambda: storage.get_stage("stage1").status == "done", 600, "stage1 to finish")
        stage1 = storage.get_stage("stage1")
    assert stage1.attempt == 2 and stage1.worker_job == job  # the same job, requeued by submitit
    log = (project / "training" / "stage1" / "train.log").read_text()
    assert "stage queued: interrupted: requeued" in log
    resumed = re.search(r"training from step (\d+) \(resumed from checkpoint\)", log)
    assert resumed and int(resumed.group(1)) > 1200, log


def test_slurm_is_refused_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.delenv("MTC_DB_URL", raising=False)
    project = example_project(tmp_path / "hello", "hello-world")
    result = run_mtc("train", "--launcher", "slurm", cwd=project)
    assert result.returncode == 1 and "uses the SQLite file" in result.stderr and "a file database is not for many hosts" in result.stderr
    result = run_mtc("train", "--partition", "gpu", cwd=project)
    assert result.returncode == 1 and "--partition only apply to --launcher slurm" in result.stderr
    with open_storage(project) as storage:
        assert storage.get_stage("stage1").status == "draft"


def test_slurm_is_refused_without_sbatch_or_submitit(on_postgres, tmp_path):
    project = on_postgres
    no_sbatch = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    hidden = tmp_path / "hide"  # a submitit that fails to import, as when it is not installed
    (hidden / "submitit").mkdir(parents=True)
    (hidden / "submitit" / "__init__.py").write_text("raise ImportError('No module named submitit')\n")
    no_submitit = {**os.environ, "PYTHONPATH": f"{hidden}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    if shutil.which("sbatch") is None:
        pytest.skip("sbatch is not installed, so submitit's absence cannot be told apart")
    for env, message in ((no_sbatch, "needs SLURM's `sbatch` on PATH"), (no_submitit, "needs the Python package submitit")):
        result = subprocess.run(
            [sys.executable, "-m", "engine.cli", "train", "--launcher", "slurm"], cwd=project, capture_output=True,
            text=True, env=env,
        )  # fmt: skip
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    with open_storage(project) as storage:
        assert storage.get_stage("stage1").status == "draft"  # nothing queued


def test_slurm_flags_are_checked():
    assert time_minutes("04:00:00") == 240 and time_minutes("00:00:30") == 1 and time_minutes("01:30:01") == 91
    assert slurm_options(["account=phys", "qos=long", "mail-type=END"]) == {"account": "phys", "qos": "long", "mail_type": "END"}
    with pytest.raises(MtcError, match=r"--time '4h' is not HH:MM:SS"):
        time_minutes("4h")
    with pytest.raises(MtcError, match=r"--slurm-option 'account' is not KEY=VALUE"):
        slurm_options(["account"])
