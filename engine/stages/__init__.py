"""Stage operations: the one Python API behind ``mtc init-conf``/``stage``/``clean``/``show training``
and the notebook.

Public API::

    StageBook(project_dir)                 # bound to a project; opens the database lazily
      .stages() / .stage(name) / .summary()
      .init_conf(reset=False) -> InitReport
      .new_branch(name=None, source=None, assignments=(), description="") -> StageRecord
      .new_child(parent, name=None, assignments=(), description="", kind="standard") -> StageRecord
      .edit(name, assignments=(), description=None) -> StageRecord
      .rename(old, new) / .remove(name, recursive=False) / .clean(name=None)
    training_summary(stages) / format_training(summary)
    backup_database(storage, project_dir) -> Path
    upgrade_database(project_dir) -> (before, after)
    problem_hash(project_dir) / stage_folder(project_dir, name)

Running stages (submit, train through a launcher, cancel, status, reap) is ``engine.stages.runs``;
``engine.stages.export`` (loss tables with pandas) is imported on demand.
"""

from engine.stages.backup import backup_database
from engine.stages.changes import StageChanges
from engine.stages.database import upgrade_database
from engine.stages.errors import StageError
from engine.stages.files import problem_hash, stage_folder
from engine.stages.operations import DEFAULT_DESCRIPTION, DEFAULT_STAGE, InitReport, StageBook
from engine.stages.training_summary import format_training, training_summary

__all__ = [
    "DEFAULT_DESCRIPTION",
    "DEFAULT_STAGE",
    "InitReport",
    "StageBook",
    "StageChanges",
    "StageError",
    "backup_database",
    "format_training",
    "problem_hash",
    "stage_folder",
    "training_summary",
    "upgrade_database",
]
