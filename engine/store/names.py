"""Stage-name rules: the allowed pattern and numbered default names (``stage1``, ``stage2``...)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from engine.store.errors import StoreError, UnknownStageError

STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_stage_name(name: object) -> str:
    """Return ``name`` if it is a valid stage name, else raise ``StoreError``."""
    if not isinstance(name, str) or not STAGE_NAME.fullmatch(name):
        raise StoreError(
            f"invalid stage name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
        )
    return name


def next_numbered_name(prefix: str, existing: Iterable[str]) -> str:
    """``<prefix>N``, N one above the largest N among ``existing`` names ``<prefix><digits>``."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    numbers = (int(m.group(1)) for name in existing if (m := pattern.fullmatch(name)))
    return validate_stage_name(f"{prefix}{max(numbers, default=0) + 1}")


def unknown_stage(name: str, existing: Iterable[str]) -> UnknownStageError:
    """An ``UnknownStageError`` for ``name`` that suggests close existing names."""
    close = difflib.get_close_matches(name, list(existing), n=3)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else "check the stage list"
    return UnknownStageError(f"no stage named {name!r}: {hint}")
