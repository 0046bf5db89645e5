"""User-facing errors: each carries one clear message that names the thing and the fix."""

from __future__ import annotations


class MtcError(Exception):
    """An error caused by user input; the CLI prints its message without a traceback."""


class ProblemError(MtcError):
    """A mistake in a project's ``problem.py``, located at a file and line when known."""

    def __init__(self, message: str, filename: str | None = None, lineno: int | None = None):
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.lineno = lineno

    def located(self, filename: str, lineno: int | None) -> "ProblemError":
        """Return a copy of this error pinned to ``filename:lineno``."""
        return ProblemError(self.message, filename, lineno)

    def __str__(self) -> str:
        if self.filename and self.lineno:
            return f"{self.filename}:{self.lineno}: {self.message}"
        if self.filename:
            return f"{self.filename}: {self.message}"
        return self.message


class EmptySubdomainError(ProblemError):
    """A subdomain whose criteria reject every sampled point."""
