"""``StageBook``: every stage operation of one project, for the CLI and the notebook alike.

A ``StageBook`` is bound to a project folder. It opens the project's database on
first use (``engine.store.open_storage``) and loads ``problem.py`` only when an
operation needs the problem (creating or editing a config), reloading it when the
file's hash changes. Each read-modify-write runs in one ``Storage.transaction()``
(on SQLite: the write lock is held throughout), so concurrent processes never lose
an update; anything slow (loading the problem) happens before the transaction.
Every check runs before the first write, so a refused operation writes nothing.
Files under ``training/<stage>/`` are deleted only after the database commit; a
rename moves its folder as the last step inside the transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import ConfigError, ProblemOutline, default_config, merge_with_problem, set_values
from engine.kinds import GAUSS_NEWTON, correction_defaults
from engine.problem import load_problem
from engine.problem.loader import PROBLEM_FILE
from engine.stages.backup import backup_database
from engine.stages.changes import StageChanges, has_run
from engine.stages.database import database_exists
from engine.stages.errors import StageError
from engine.stages.files import problem_hash, remove_project_files, remove_stage_folders, stage_folder
from engine.stages.readiness import check_config, check_continues
from engine.stages.training_summary import training_summary
from engine.stages.unknown_values import latest_unknowns
from engine.store import (
    STAGE_KINDS,
    StageHasChildrenError,
    StageRecord,
    Storage,
    database_url,
    init_database,
    open_storage,
    validate_stage_name,
)

DEFAULT_STAGE = "stage1"
DEFAULT_DESCRIPTION = "Default stage"

Assignments = Sequence[str] | Mapping[str, Any]
"""``["KEY=VALUE", ...]`` from the CLI or ``{key: value}`` from the UI (see ``set_values``)."""


@dataclass(frozen=True)
class InitReport:
    """What ``init_conf`` did.

    ``database_created``: the database did not exist before. ``backup``: where
    ``reset`` saved the old database. ``deleted``: stages ``reset`` removed.
    ``created``: the new default stage (first run or reset), else None.
    ``changes``: per stage, what merging with problem.py added or removed.
    """

    database_created: bool
    backup: Path | None = None
    deleted: list[str] = field(default_factory=list)
    created: StageRecord | None = None
    changes: list[StageChanges] = field(default_factory=list)


@dataclass(frozen=True)
class _Problem:
    outline: ProblemOutline
    hash: str


class StageBook:
    """The stages of the project in ``project_dir``."""

    def __init__(self, project_dir: str | os.PathLike[str] = "."):
        self.project_dir = Path(project_dir)
        self._storage: Storage | None = None
        self._problem: _Problem | None = None

    # -- resources --------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The project's storage, opened on first use (``NoDatabaseError`` if there is none)."""
        if self._storage is None:
            self._storage = open_storage(self.project_dir)
        return self._storage

    def close(self) -> None:
        """Release the database connections."""
        if self._storage is not None:
            self._storage.dispose()
            self._storage = None

    def __enter__(self) -> StageBook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def problem(self) -> tuple[ProblemOutline, str]:
        """The outline of the current problem.py and its hash (reloaded when the file changed)."""
        path = self.project_dir / PROBLEM_FILE
        digest = problem_hash(self.project_dir) if path.is_file() else ""
        if self._problem is None or self._problem.hash != digest:
            outline = load_problem(self.project_dir).outline()  # raises ProblemError if missing or broken
            self._problem = _Problem(outline, digest)
        return self._problem.outline, self._problem.hash

    # -- reading ----------------------------------------------------------------

    def stages(self) -> list[StageRecord]:
        """All stages, by id (parents before their children)."""
        return self.storage.list_stages()

    def stage(self, name: str) -> StageRecord:
        """The stage named ``name``."""
        return self.storage.get_stage(name)

    def summary(self) -> dict[str, Any]:
        """The data of ``mtc show training`` (see ``training_summary``)."""
        stages = self.stages()
        return training_summary(stages, latest_unknowns(self.storage, stages), problem_hash(self.project_dir))

    # -- init-conf --------------------------------------------------------------

    def init_conf(self, reset: bool = False) -> InitReport:
        """Create the database and ``stage1``, or merge every stage with the current problem.py.

        Merging gives new networks/constraints/data their defaults, drops removed ones
        and keeps every other setting; each stage records the new problem hash. A stage
        that has run keeps the config and problem hash it ran with.
        ``reset`` backs the database up, then deletes every stage and its results and
        creates ``stage1`` afresh.
        """
        outline, digest = self.problem()  # a problem.py that does not load: nothing is written
        url = database_url(self.project_dir)
        database_created = not database_exists(url)
        if database_created:
            init_database(url)
        storage = self.storage
        backup = None
        if reset and not database_created:
            _refuse_running(storage.list_stages(), "`mtc init-conf --reset`")
            backup = backup_database(storage, self.project_dir)
        with storage.transaction():
            existing = storage.list_stages()
            if existing and not reset:
                changes = [self._merge(storage, record, outline, digest) for record in existing]
                return InitReport(database_created, changes=changes)
            files, deleted = _delete_all(storage, existing)
            created = storage.create_stage(
                DEFAULT_STAGE, default_config(outline), DEFAULT_DESCRIPTION, problem_hash=digest
            )
        remove_project_files(self.project_dir, files)
        remove_stage_folders(self.project_dir, deleted)
        return InitReport(database_created, backup, deleted, created)

    @staticmethod
    def _merge(storage: Storage, record: StageRecord, outline: ProblemOutline, digest: str) -> StageChanges:
        if has_run(record):  # its config and problem hash stay those it ran with
            return StageChanges(record.name, ran=True, problem_changed=record.problem_hash != digest)
        try:
            merged = merge_with_problem(record.config, outline)
        except ConfigError as exc:
            raise StageError(
                f"stage {record.name!r} does not fit the edited problem.py: {exc} "
                f"(change problem.py back, or delete the stage: `mtc stage rm {record.name}`)"
            ) from None
        if merged != record.config:
            storage.update_config(record.name, merged)
        if record.problem_hash != digest:
            storage.set_status(record.name, record.status, problem_hash=digest)
        return StageChanges.between(record.name, record.config, merged)

    # -- creating and editing ---------------------------------------------------

    def new_branch(
        self,
        name: str | None = None,
        source: str | None = None,
        assignments: Assignments = (),
        description: str = "",
    ) -> StageRecord:
        """A new training branch (a root stage, trained from scratch).

        It starts from ``source``'s settings (default: the defaults), then ``assignments``.
        ``name`` defaults to the next free ``stageN``.
        """
        if name is not None:
            validate_stage_name(name)
        storage = self.storage
        outline, digest = self.problem()
        with storage.transaction():
            base = merge_with_problem(storage.get_stage(source).config, outline) if source is not None else default_config(outline)
            config = set_values(base, assignments, outline)
            refuse_unfit_optimizer(config, outline, "standard")
            _refuse_uncovered_derivatives(config, outline, "standard")
            return storage.create_stage(
                name or storage.next_free_name(), config, description, problem_hash=digest
            )

    def new_child(
        self,
        parent: str,
        name: str | None = None,
        assignments: Assignments = (),
        description: str = "",
        kind: str = "standard",
    ) -> StageRecord:
        """A child stage of ``parent`` with its settings plus ``assignments``.

        ``kind`` ``standard`` continues from the parent's weights; ``correction`` freezes the
        parent's model and adds ``eps * u_corr`` per network output (its ``nets.<NET>``
        settings shape the correction networks). A correction child starts in float64 with
        every network corrected, before ``assignments``; ``precision_warning`` says when the
        result is set up to fail (float32).
        """
        if name is not None:
            validate_stage_name(name)
        if kind not in STAGE_KINDS:
            raise StageError(f"unknown stage kind {kind!r}: use one of {', '.join(STAGE_KINDS)}")
        storage = self.storage
        outline, digest = self.problem()
        if kind == "correction" and not any(net.outputs for net in outline.networks.values()):
            raise StageError(
                "problem.py defines no neural network outputs: a correction stage adds a correction network "
                "per output, so there is nothing to correct (add a network with p.add_neural_network)"
            )
        with storage.transaction():
            base = merge_with_problem(storage.get_stage(parent).config, outline)  # it may have run with an older problem.py
            if kind == "correction":
                base = set_values(base, correction_defaults(outline.networks), outline)
            config = set_values(base, assignments, outline)
            name = name or storage.next_free_name()
            check_config(name, config, outline)
            refuse_unfit_optimizer(config, outline, kind)
            _refuse_uncovered_derivatives(config, outline, kind)
            check_continues(storage.get_stage(parent), name, config, kind)
            return storage.create_stage(name, config, description, parent=parent, kind=kind, problem_hash=digest)

    def edit(self, name: str, assignments: Assignments = (), description: str | None = None) -> StageRecord:
        """Apply ``assignments`` (all or none) and/or a new description to a draft stage."""
        if not assignments and description is None:
            raise StageError("nothing to change: give KEY=VALUE settings (or a description)")
        storage = self.storage
        outline, digest = self.problem() if assignments else (None, None)
        with storage.transaction():
            record = storage.get_stage(name)
            _require_draft(record)
            if outline is not None:
                config = set_values(record.config, assignments, outline)
                check_config(name, config, outline)
                if record.parent is not None:
                    check_continues(storage.get_stage(record.parent), name, config, record.kind)
                refuse_unfit_optimizer(config, outline, record.kind)
                _refuse_uncovered_derivatives(config, outline, record.kind)
                storage.update_config(name, config)
                if record.problem_hash != digest:
                    storage.set_status(name, record.status, problem_hash=digest)
            if description is not None:
                storage.update_description(name, description)
            return storage.get_stage(name)

    # -- tree operations --------------------------------------------------------

    def rename(self, old: str, new: str) -> StageRecord:
        """Rename a stage that is not queued or running, moving its ``training/<old>/`` folder.

        Loss rows and children refer to the stage by id and follow. Stages with
        recorded artifacts are refused: their stored paths name the old folder.
        """
        validate_stage_name(new)
        storage = self.storage
        with storage.transaction():
            record = storage.get_stage(old)
            if record.status in ("queued", "running"):
                raise StageError(
                    f"stage {old!r} is {record.status}: rename it once it has finished (or cancel it)"
                )
            if storage.artifacts(old):
                raise StageError(
                    f"stage {old!r} has recorded result files under training/{old}/: clean it first "
                    f"(`mtc clean --stage {old}`) or make a copy (`mtc stage new {new} --from {old}`)"
                )
            source, target = stage_folder(self.project_dir, old), stage_folder(self.project_dir, new)
            if new != old and target.exists():
                raise StageError(f"{target} already exists: remove that folder or choose another name")
            renamed = storage.rename_stage(old, new)
            if new != old and source.exists():
                source.replace(target)  # the last step: if it fails, the rename is rolled back
        return renamed

    def remove(self, name: str, recursive: bool = False) -> list[str]:
        """Delete a stage (with ``recursive``, its descendants too), its results and folders.

        Returns the deleted names, deepest first.
        """
        storage = self.storage
        with storage.transaction():
            doomed = [storage.get_stage(name), *storage.descendants(name)]
            if len(doomed) > 1 and not recursive:
                below = ", ".join(record.name for record in doomed[1:])
                raise StageHasChildrenError(
                    f"stage {name!r} has child stages ({below}): delete them with it "
                    f"(`mtc stage rm {name} --recursive`) or delete them first"
                )
            _refuse_running(doomed, f"`mtc stage rm {name}`")
            files = _artifact_paths(storage, doomed)
            deleted = storage.delete_stage(name, recursive=recursive)
        remove_project_files(self.project_dir, files)
        remove_stage_folders(self.project_dir, deleted)
        return deleted

    def clean(self, name: str | None = None) -> list[str]:
        """Delete the results of one stage (default: all): loss rows, artifacts, ``training/<stage>/``.

        The stages stay, back to ``draft``. Returns the cleaned stage names.
        """
        storage = self.storage
        with storage.transaction():
            targets = [storage.get_stage(name)] if name is not None else storage.list_stages()
            _refuse_running(targets, f"`mtc clean --stage {name}`" if name is not None else "`mtc clean`")
            files = [artifact.path for record in targets for artifact in storage.delete_results(record.name)]
        cleaned = [record.name for record in targets]
        remove_project_files(self.project_dir, files)
        remove_stage_folders(self.project_dir, cleaned)
        return cleaned


def refuse_unfit_optimizer(config: Mapping[str, Any], outline: ProblemOutline, kind: str) -> None:
    """An lm/engd optimizer (or ``then_lm_steps``) that cannot solve for the stage's networks is refused here."""
    if config["optimizer"]["name"] not in GAUSS_NEWTON and not config["training"]["then_lm_steps"]:
        return
    from engine.train.optim.size_check import gauss_newton_refusal  # imports torch: only for such stages

    refusal = gauss_newton_refusal(config, outline, kind)
    if refusal:
        raise StageError(refusal)


def _refuse_uncovered_derivatives(config: Mapping[str, Any], outline: ProblemOutline, kind: str) -> None:
    """``training.derivatives=forward`` on a network the forward path does not cover is refused here."""
    if config["training"]["derivatives"] != "forward":
        return
    from engine.train.loss_step import config_refusal  # imports torch: only for such stages

    refusal = config_refusal(config, outline, kind)
    if refusal:
        raise StageError(refusal)


def _require_draft(record: StageRecord) -> None:
    if record.status == "draft":
        return
    if record.status in ("queued", "running"):
        state = f"is {record.status}"
    else:
        state = f"has already run (status {record.status})"
    raise StageError(
        f"stage {record.name!r} {state}: make a child "
        f"(`mtc stage child {record.name}`) or a copy (`mtc stage new --from {record.name}`)"
    )


def _refuse_running(records: Iterable[StageRecord], retry: str) -> None:
    running = [record.name for record in records if record.status == "running"]
    if len(running) == 1:
        raise StageError(
            f"stage {running[0]!r} is running: cancel it first (or wait until it finishes), then run {retry} again"
        )
    if running:
        raise StageError(
            f"stages {', '.join(map(repr, running))} are running: cancel them first "
            f"(or wait until they finish), then run {retry} again"
        )


def _delete_all(storage: Storage, records: Sequence[StageRecord]) -> tuple[list[str], list[str]]:
    """Delete every stage (refusing running ones); returns their artifact paths and names."""
    _refuse_running(records, "`mtc init-conf --reset`")
    files = _artifact_paths(storage, records)
    deleted: list[str] = []
    for root in (record.name for record in records if record.parent is None):
        deleted += storage.delete_stage(root, recursive=True)
    return files, deleted


def _artifact_paths(storage: Storage, records: Iterable[StageRecord]) -> list[str]:
    return [artifact.path for record in records for artifact in storage.artifacts(record.name)]
