"""``mtc stage sweep``: one new stage per combination of setting values, all validated before any is written.

A sweep is named ``sweepN`` (the next free number); its stages are ``sweepN-1``, ``sweepN-2``, ...,
each described by the values it sets and tagged ``sweep`` and ``sweepN`` (``mtc compare --sweep
sweepN`` ranks them). Each starts from the source stage's settings: as a new training branch, or,
with ``child``, as a child that continues from the source's weights.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from engine.config import ConfigError, set_values
from engine.stages.errors import StageError
from engine.stages.operations import StageBook
from engine.store import StageRecord
from engine.store.names import next_numbered_name

SWEEP_TAG = "sweep"
MAX_WITHOUT_YES = 1000

Grid = list[tuple[str, list[str]]]
"""``[(setting key, [raw values]), ...]`` in the order given."""


@dataclass(frozen=True)
class Sweep:
    """A created sweep: its name and its stages."""

    name: str
    stages: list[StageRecord]


def parse_grid(items: Sequence[str]) -> Grid:
    """``["optimizer.lr=1e-3,3e-3", ...]`` -> ``[("optimizer.lr", ["1e-3", "3e-3"]), ...]``."""
    grid: Grid = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise StageError(f"--grid {item!r}: expected KEY=v1,v2,..., e.g. --grid optimizer.lr=1e-3,3e-3")
        choices = [value.strip() for value in values.split(",")]
        if any(not value for value in choices):
            raise StageError(f"--grid {item!r}: an empty value; list the values separated by commas")
        if key in (k for k, _ in grid):
            raise StageError(f"--grid {key} is given twice: list all its values in one --grid {key}=v1,v2")
        grid.append((key, choices))
    if not grid:
        raise StageError("a sweep needs at least one --grid KEY=v1,v2,...")
    return grid


def combinations(grid: Grid, sample: int | None = None, seed: int = 0) -> list[list[tuple[str, str]]]:
    """Every combination of the grid's values, or ``sample`` of them drawn at random (seeded), in grid order."""
    every = [list(zip([k for k, _ in grid], values)) for values in itertools.product(*(v for _, v in grid))]
    if sample is None:
        return every
    if sample < 1:
        raise StageError(f"--random {sample}: give a positive number of stages")
    if sample > len(every):
        raise StageError(f"--random {sample}: the grid has only {len(every)} combinations")
    chosen = sorted(random.Random(seed).sample(range(len(every)), sample))
    return [every[index] for index in chosen]


def create_sweep(
    book: StageBook,
    source: str,
    grid: Grid,
    child: bool = False,
    sample: int | None = None,
    seed: int = 0,
    yes: bool = False,
) -> Sweep:
    """Create one stage per combination (see the module docstring); refuses before writing anything."""
    combos = combinations(grid, sample, seed)
    if len(combos) > MAX_WITHOUT_YES and not yes:
        raise StageError(
            f"this sweep would create {len(combos)} stages (more than {MAX_WITHOUT_YES}): "
            "add --yes if you mean it, or sample some with --random N"
        )
    storage = book.storage
    outline, digest = book.problem()
    with storage.transaction():
        base = storage.get_stage(source)
        configs = []
        for combo in combos:
            try:
                configs.append(set_values(base.config, [f"{k}={v}" for k, v in combo], outline))
            except ConfigError as exc:
                raise StageError(f"sweep value refused, no stage was created: {exc}") from None
        existing = storage.list_stages()
        name = next_numbered_name(SWEEP_TAG, [tag for r in existing for tag in (r.tags or [])])
        taken = {r.name for r in existing}
        names = [f"{name}-{index}" for index in range(1, len(combos) + 1)]
        clash = [n for n in names if n in taken]
        if clash:
            raise StageError(f"stage {clash[0]!r} exists already: rename it, then run the sweep again")
        created = []
        for stage, combo, config in zip(names, combos, configs):
            description = f"{name}: " + ", ".join(f"{k}={v}" for k, v in combo)
            parent = source if child else None
            storage.create_stage(stage, config, description, parent=parent, problem_hash=digest)
            created.append(storage.set_tags(stage, [SWEEP_TAG, name]))
    return Sweep(name, created)
