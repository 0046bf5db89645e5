"""``mtc stage cascade``: a multilevel (coarse-to-fine) ladder of widening children, all validated before any is written.

Seed 003's cascade: level 1 is a child of the parent stage whose trainable networks are
``factor`` times wider, level 2 a child of level 1 ``factor`` times wider again, and so on.
Each level is an ordinary widening child: it starts from its parent's function exactly
(new units enter with zero outgoing weights) and carries its Adam moments over, padded
with zeros (``engine.nets.widen``). Levels are named ``<parent>-x<total factor>``
(``stage1-x2``, ``stage1-x4``, ...); ``steps`` gives each level its ``training.max_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.config import ConfigError, set_values
from engine.stages.errors import StageError
from engine.stages.operations import StageBook, refuse_unfit_optimizer
from engine.stages.readiness import check_config, check_continues
from engine.store import StageRecord, StoreError, validate_stage_name

MAX_LEVELS = 8


def parse_steps(text: str | None) -> list[int] | None:
    """``"2000,2000,4000"`` -> ``[2000, 2000, 4000]``; None (keep the parent's max_steps) stays None."""
    if text is None or not text.strip():
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise StageError(f"--steps {text!r}: give whole numbers separated by commas, e.g. --steps 2000,2000,4000") from None


def level_names(parent: str, levels: int, factor: int) -> list[str]:
    """The names of the levels: ``<parent>-x<factor**i>``."""
    return [f"{parent}-x{factor**level}" for level in range(1, levels + 1)]


def create_cascade(
    book: StageBook, parent: str, levels: int, factor: int = 2, steps: Sequence[int] | None = None
) -> list[StageRecord]:
    """Create the ladder (see the module docstring) in one transaction; refuses before writing anything."""
    if not 1 <= levels <= MAX_LEVELS:
        raise StageError(f"--levels {levels}: a cascade has 1 to {MAX_LEVELS} levels")
    if factor < 2:
        raise StageError(f"--factor {factor}: each level must be wider than the one before (a whole factor >= 2)")
    if steps is not None and len(steps) != levels:
        shown = ",".join(map(str, steps))
        raise StageError(f"--steps {shown} gives {len(steps)} step count(s) for {levels} level(s): give one per level")
    if steps is not None and min(steps) < 1:
        raise StageError(f"--steps {','.join(map(str, steps))}: every level needs at least 1 step")
    names = level_names(parent, levels, factor)
    for name in names:
        try:
            validate_stage_name(name)
        except StoreError as exc:
            raise StageError(f"the cascade's stage names are <parent>-x<factor>: {exc} (rename {parent!r} shorter)") from None
    storage = book.storage
    outline, digest = book.problem()
    with storage.transaction():
        record = storage.get_stage(parent)
        taken = {r.name for r in storage.list_stages()} & set(names)
        if taken:
            raise StageError(
                f"stage {sorted(taken)[0]!r} exists already: delete or rename it, or cascade from another stage"
            )
        widened = [net for net, settings in record.config["nets"].items() if settings["trainable"]]
        if not widened:
            raise StageError(f"every network of {parent!r} is frozen: a cascade widens the trainable networks")
        plans = []
        previous = record
        for level, name in enumerate(names):
            assignments = [f"nets.{net}.layer_size={previous.config['nets'][net]['layer_size'] * factor}" for net in widened]
            if steps is not None:
                assignments.append(f"training.max_steps={steps[level]}")
            try:
                config = set_values(previous.config, assignments, outline)
            except ConfigError as exc:
                raise StageError(f"cascade level {level + 1} ({name}) refused, no stage was created: {exc}") from None
            check_config(name, config, outline)
            refuse_unfit_optimizer(config, outline, "standard")
            check_continues(previous, name, config, "standard")
            description = f"cascade level {level + 1}/{levels} from {parent}: " + ", ".join(
                f"{net} width {previous.config['nets'][net]['layer_size']} -> {config['nets'][net]['layer_size']}"
                for net in widened
            )
            plans.append((name, config, description, previous.name))
            previous = replace(previous, name=name, config=config)  # the level as it will be created
        return [
            storage.create_stage(name, config, description, parent=above, problem_hash=digest)
            for name, config, description, above in plans
        ]
