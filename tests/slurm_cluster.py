"""A throw-away single-node SLURM cluster for tests: its own munged, slurmctld and slurmd on localhost.

``start()`` writes a minimal ``slurm.conf`` (this host as the only node, random free ports,
every state and log file in a temporary folder, a munged of its own on a private socket)
and starts the three daemons; it returns a running ``SlurmCluster`` or, when SLURM cannot
start here, the reason (the SLURM tests are then skipped with it). Clients find the
cluster through ``$SLURM_CONF`` (``env``); ``stop()`` ends the daemons it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")

# cred_expire also sets how long SLURM holds a requeued job before it may start again (120 s by
# default): 10 s keeps the preemption test short.
CONF = """\
ClusterName=mtctest
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket,cred_expire=10
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=10
MinJobAge=600
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


@dataclass
class SlurmCluster:
    """A running single-node cluster; ``env`` points SLURM's commands (sbatch, squeue, scancel) at it."""

    folder: Path
    processes: dict[str, int] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.folder / "slurm.conf")}

    def squeue(self) -> str:
        """``squeue``'s job ids and states, one ``JOBID STATE`` line per job (``--array``: one line per array
        element, also while the array is pending, when squeue would otherwise fold it into one line)."""
        return _client(["squeue", "--array", "--noheader", "--format=%i %T"], self.env).stdout

    def stop(self) -> None:
        """Cancel every job (waiting for their steps to end), stop the daemons and delete the folder."""
        _client(["scancel", "--full", "--user=root"], self.env)
        deadline = time.monotonic() + 30
        while self.squeue().strip() and time.monotonic() < deadline:
            time.sleep(0.5)
        for name in reversed(DAEMONS):
            pid_file = self.folder / f"{name}.pid"
            pid = int(pid_file.read_text()) if pid_file.is_file() else self.processes.get(name)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        time.sleep(1)
        shutil.rmtree(self.folder, ignore_errors=True)


def _client(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(timeout: float = 60) -> SlurmCluster | str:
    """A running single-node cluster, or why none could be started."""
    missing = [tool for tool in (*DAEMONS, "sbatch", "squeue", "scancel") if shutil.which(tool) is None]
    if missing:
        return f"SLURM is not installed (no {', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "starting slurmd needs root (it starts jobs as their users)"
    key = Path("/etc/munge/munge.key")
    if not key.is_file():
        return f"no munge key at {key} (apt-get install munge creates it)"
    folder = Path(tempfile.mkdtemp(prefix="mtc-slurm-"))
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    host = socket.gethostname()
    (folder / "slurm.conf").write_text(CONF.format(
        host=host, folder=folder, ctld_port=_free_port(), d_port=_free_port(), cpus=os.cpu_count() or 1,
    ))  # fmt: skip
    cluster = SlurmCluster(folder)
    env = {**os.environ, **cluster.env}
    commands = {
        "munged": ["munged", "--force", f"--socket={folder}/munge.socket", f"--key-file={key}",
                   f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log", f"--seed-file={folder}/munge.seed"],
        "slurmctld": ["slurmctld", "-i", "-f", str(folder / "slurm.conf")],
        "slurmd": ["slurmd", "-f", str(folder / "slurm.conf")],
    }  # fmt: skip
    for name, command in commands.items():
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            cluster.stop()
            return f"{name} did not start: {(done.stderr or done.stdout).strip()[-300:]}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _client(["sinfo", "--noheader", "--format=%T"], cluster.env).stdout.strip()
        if state in ("idle", "mixed", "allocated"):
            return cluster
        time.sleep(1)
    logs = " ".join((folder / f"{n}.log").read_text(errors="replace")[-200:] for n in ("slurmctld", "slurmd") if (folder / f"{n}.log").is_file())
    cluster.stop()
    return f"the node did not become idle within {timeout:g} s (sinfo: {state!r}); {logs}"
