"""Whether a stage can train, checked when it is queued (and when a child is made or a stage edited).

A stage refused here never reaches a worker, so it never burns an attempt: its config must
still match problem.py, at least one network must train, a child must be able to start
from its parent's weights (same architecture, or only wider), and no ancestor may have
failed. Torch-free: queueing from the CLI or the notebook imports no networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config import ConfigError, ProblemOutline, validate_config
from engine.config.compat import check_compatible
from engine.errors import MtcError
from engine.kinds import prune_refusal
from engine.stages.errors import StageError
from engine.store import StageRecord


def check_config(name: str, config: Mapping[str, Any], outline: ProblemOutline) -> None:
    """Refuse a config problem.py no longer fits, or one whose networks are all frozen."""
    try:
        nets = validate_config(config, outline)["nets"]
    except ConfigError as exc:
        raise StageError(
            f"stage {name!r} no longer matches problem.py ({exc}): run `mtc init-conf` to merge the configs"
        ) from None
    if nets and not any(settings["trainable"] for settings in nets.values()):
        raise StageError(
            f"every network of stage {name!r} is frozen, so it has nothing to train: "
            f"`mtc stage set {name} nets.<NET>.trainable=true` for one of {', '.join(nets)}"
        )


def check_continues(parent: StageRecord, name: str, config: Mapping[str, Any], kind: str) -> None:
    """Refuse a child whose networks cannot start from ``parent``'s weights (a correction shapes new ones)."""
    if kind == "correction":
        return  # a correction's nets.<NET> settings shape new correction networks, not the parent's
    refusal = prune_refusal(parent.config, parent.name) if kind == "prune" else None
    if refusal:
        raise StageError(f"stage {name!r} cannot prune {parent.name!r}: {refusal}")
    for net, settings in config["nets"].items():
        if net in parent.config["nets"]:
            try:
                check_compatible(parent.config["nets"][net], settings, name=net)
            except MtcError as exc:
                raise StageError(f"stage {name!r} cannot continue from {parent.name!r}: {exc}") from None


def check_lineage(name: str, lineage: list[StageRecord], outline: ProblemOutline) -> None:
    """Refuse to queue ``name`` (the last of ``lineage``) if it or an unfinished ancestor could not train."""
    for ancestor, below in zip(lineage[:-1], lineage[1:]):
        if ancestor.status != "failed":
            continue
        if below.kind == "correction":
            raise StageError(
                f"cannot train {name!r}: {below.name!r} is a correction of {ancestor.name!r}, which never "
                f"finished (it failed: {ancestor.error}); a correction is computed from its parent's final "
                f"model: `mtc clean --stage {ancestor.name}` and train it again"
            )
        raise StageError(
            f"cannot train {name!r}: its ancestor {ancestor.name!r} failed ({ancestor.error}); "
            f"`mtc clean --stage {ancestor.name}` and train it again, or start a new branch"
        )
    parents: list[StageRecord | None] = [None, *lineage[:-1]]
    for parent, record in zip(parents, lineage):
        if record.status == "done":
            continue
        check_config(record.name, record.config, outline)
        if parent is not None:
            check_continues(parent, record.name, record.config, record.kind)
