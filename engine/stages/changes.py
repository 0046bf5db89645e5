"""What ``mtc init-conf`` changed in a stage: networks, constraints and data entries added or dropped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.introspect import collections
from engine.store import StageRecord


def has_run(record: StageRecord) -> bool:
    """Whether a worker has started the stage: its config is then the one it ran with."""
    return record.started_at is not None


@dataclass(frozen=True)
class StageChanges:
    """Entries added to and removed from one stage's config, by section (``nets``, ...)."""

    stage: str
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    ran: bool = False  # the stage has run: its config was kept as it ran with
    problem_changed: bool = False  # ... and problem.py has changed since

    @classmethod
    def between(cls, stage: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> StageChanges:
        """The entries of ``new`` missing from ``old`` (added) and the other way round (removed)."""
        added, removed = {}, {}
        for section in collections():
            before, after = old.get(section) or {}, new.get(section) or {}
            if fresh := [name for name in after if name not in before]:
                added[section] = fresh
            if gone := [name for name in before if name not in after]:
                removed[section] = gone
        return cls(stage, added, removed)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        """One line such as ``added network extraNN, constraint c3; removed constraint ends``."""
        if self.ran:
            since = ", problem.py changed since" if self.problem_changed else ""
            return f"kept the settings it ran with{since} (a new child or branch gets the new ones)"
        nouns = {section: coll.noun for section, coll in collections().items()}
        parts = []
        for verb, entries in (("added", self.added), ("removed", self.removed)):
            if entries:
                listed = ", ".join(
                    f"{nouns[section]} {name}" for section, names in entries.items() for name in names
                )
                parts.append(f"{verb} {listed}")
        return "; ".join(parts) or "no change"
