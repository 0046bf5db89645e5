"""Queue stages for training, with their unfinished ancestors, after checking they can run."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MtcError
from ..config.compat import check_compatible
from ..store import StageRecord, Storage
from ..store.queue import RUNNABLE_AGAIN, enqueue


@dataclass
class Submission:
    """What ``submit`` did: stages queued now, stages of the lineages that were queued before (an
    interrupted run's, which resume from their checkpoints), and requested stages already done."""

    queued: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[str]:
        """Every stage this submission waits for: the ones queued before, then the ones queued now."""
        return self.waiting + self.queued


def _check_lineage(name: str, lineage: list[StageRecord]) -> None:
    for ancestor, below in zip(lineage[:-1], lineage[1:]):
        if ancestor.status == "failed":
            if below.kind == "correction":
                raise MtcError(
                    f"cannot train {name!r}: {below.name!r} is a correction of {ancestor.name!r}, which never "
                    f"finished (it failed: {ancestor.error}); a correction is computed from its parent's final "
                    f"model: `mtc clean --stage {ancestor.name}` and train it again"
                )
            raise MtcError(
                f"cannot train {name!r}: its ancestor {ancestor.name!r} failed ({ancestor.error}); "
                f"`mtc clean --stage {ancestor.name}` and train it again, or start a new branch"
            )
    for parent, child in zip(lineage, lineage[1:]):
        if child.status == "done" or child.kind == "correction":
            continue  # a correction's nets.<NET> settings shape new correction networks, not the parent's
        for net, settings in child.config["nets"].items():
            if net in parent.config["nets"]:
                try:
                    check_compatible(parent.config["nets"][net], settings, name=net)
                except MtcError as exc:
                    raise MtcError(f"stage {child.name!r} cannot continue from {parent.name!r}: {exc}") from None


def submit(storage: Storage, names: list[str]) -> Submission:
    """Queue ``names`` and every ancestor that has not finished; refuse running or impossible ones."""
    result = Submission()
    order: list[str] = []
    for name in names:
        lineage = storage.lineage(name)
        target = lineage[-1]
        if target.status == "running":
            raise MtcError(f"stage {name!r} is already running: watch it with `mtc status`, stop it with `mtc cancel {name}`")
        if target.status == "done":
            result.already_done.append(name)
            continue
        _check_lineage(name, lineage)
        order += [r.name for r in lineage if r.status in RUNNABLE_AGAIN and r.name not in order]
        result.waiting += [r.name for r in lineage if r.status == "queued" and r.name not in result.waiting]
    result.queued = enqueue(storage, order)
    return result
