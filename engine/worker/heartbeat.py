"""A background thread that heartbeats a claim and notices cancel requests and lost claims."""

from __future__ import annotations

import logging
import threading
import time

from ..store import DatabaseBusy, DatabaseUnreachable, Storage
from ..store.queue import Claim, heartbeat


class Heartbeat(threading.Thread):
    """Beats every ``interval`` seconds until stopped; sets ``cancel`` or ``lost`` when it learns so.

    ``beats`` and ``seconds`` (this thread's CPU time) account for what heartbeating costs a stage."""

    def __init__(self, storage: Storage, claim: Claim, interval: float, log: logging.Logger):
        super().__init__(name=f"heartbeat-{claim.stage}", daemon=True)
        self.storage, self.claim, self.interval, self.log = storage, claim, interval, log
        self.cancel = threading.Event()
        self.lost = threading.Event()
        self._stop_beating = threading.Event()
        self.beats, self.seconds = 0, 0.0

    def run(self) -> None:
        while not self._stop_beating.wait(self.interval):
            began = time.thread_time()
            try:
                beat = heartbeat(self.storage, self.claim)
            except (DatabaseBusy, DatabaseUnreachable) as exc:  # busy, or the connection dropped: retry at the next beat
                self.log.warning("heartbeat failed, retrying: %s", exc)
                continue
            finally:
                self.beats, self.seconds = self.beats + 1, self.seconds + time.thread_time() - began
            if not beat.alive:
                self.log.error("the claim on this stage was lost (reaped as stale?): stopping")
                self.lost.set()
                return
            if beat.cancel_requested:
                self.cancel.set()

    def stop(self) -> None:
        self._stop_beating.set()
        self.join(timeout=max(5.0, 2 * self.interval))
