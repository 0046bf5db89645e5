"""Loss rows buffered in memory and written in batches under the worker's claim."""

from __future__ import annotations

import time

from ..store import Storage
from ..store.queue import Claim, record_rows
from ..train.loop import LossRow


class RowWriter:
    """Collects rows and writes them at most every ``every`` seconds (and on ``flush``).

    ``flushes`` and ``seconds`` (CPU time of the training thread spent writing) account for
    what logging costs a stage (the worker reports them in the stage log)."""

    def __init__(self, storage: Storage, claim: Claim, every: float):
        self.storage, self.claim, self.every = storage, claim, every
        self._rows: list[LossRow] = []
        self._last = time.monotonic()
        self.flushes, self.seconds = 0, 0.0

    def add(self, rows: list[LossRow]) -> None:
        self._rows.extend(rows)
        if time.monotonic() - self._last >= self.every:
            self.flush()

    def flush(self) -> None:
        began = time.thread_time()
        rows, self._rows = self._rows, []
        record_rows(self.storage, self.claim, rows)
        self._last = time.monotonic()
        self.flushes, self.seconds = self.flushes + bool(rows), self.seconds + time.thread_time() - began
