"""Launchers: how a project's workers are started and reached, one file each (``local``, ``slurm``).

A launcher has submitit's Executor shape (see ``base.Launcher``): ``check`` refuses early,
``start`` starts workers, ``stop`` signals the worker of a stage (cancel's escalation). The
queue stays in the database; ``LAUNCHERS`` maps the ``--launcher`` name to the class.
"""

from engine.stages.launchers.base import Job, Launcher, worker_command
from engine.stages.launchers.local import LocalLauncher, ensure_worker, start_detached
from engine.stages.launchers.slurm import SlurmLauncher

LAUNCHERS: dict[str, type[LocalLauncher] | type[SlurmLauncher]] = {"local": LocalLauncher, "slurm": SlurmLauncher}

__all__ = ["LAUNCHERS", "Job", "Launcher", "LocalLauncher", "SlurmLauncher", "ensure_worker", "start_detached", "worker_command"]
