"""The one error type of the stage configuration."""

from __future__ import annotations

from typing import Any

from engine.errors import MtcError

_UNSET: Any = object()


class ConfigError(MtcError):
    """A bad stage-config key or value.

    The message always starts with the dotted key (``optimizer.lr: ...``) and says
    what was given and what is allowed.  The parts are also kept as attributes so a
    UI can highlight the field: ``key``, ``value`` (the offending input, when there
    is one), ``allowed`` (a human description of the allowed values) and
    ``suggestions`` (close matches for a mistyped key or name).
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        value: Any = _UNSET,
        allowed: str | None = None,
        suggestions: tuple[str, ...] | list[str] = (),
    ):
        super().__init__(message)
        self.message = message
        self.key = key
        self.value = None if value is _UNSET else value
        self.has_value = value is not _UNSET
        self.allowed = allowed
        self.suggestions = tuple(suggestions)

    def __str__(self) -> str:
        return self.message
