"""The error raised when a stage operation does not fit a stage's current state."""

from __future__ import annotations

from engine.errors import MtcError


class StageError(MtcError):
    """A stage operation refused because of the stage's status, children or files."""
