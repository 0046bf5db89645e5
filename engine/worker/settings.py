"""Worker timings, overridable from the environment (tests shorten them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class WorkerSettings:
    """How often a worker heartbeats and polls, when a silent worker counts as dead, how often to retry."""

    heartbeat: float = 2.0
    stale_after: float = 30.0
    poll: float = 1.0
    max_attempts: int = 3
    flush_every: float = 1.0

    @classmethod
    def from_env(cls) -> "WorkerSettings":
        return cls(
            heartbeat=_seconds("MTC_HEARTBEAT_S", cls.heartbeat),
            stale_after=_seconds("MTC_STALE_S", cls.stale_after),
            poll=_seconds("MTC_POLL_S", cls.poll),
            max_attempts=int(_seconds("MTC_MAX_ATTEMPTS", cls.max_attempts)),
            flush_every=_seconds("MTC_FLUSH_S", cls.flush_every),
        )
