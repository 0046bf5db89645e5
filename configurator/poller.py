"""Background updates: a thread that calls ``tick`` about every second while training goes on.

The thread ends by itself as soon as ``tick`` reports that no stage is queued or running; ``wake``
starts it again (TRAIN, selecting a stage, any refresh that finds work in progress). The app's
second poller, its watcher, ticks every few seconds for good but only reads the stage table and
sends something to the page when the stages changed, so an idle page's kernel stays idle (and
Voila can cull it once the page is closed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Poller:
    """Calls ``tick`` every ``interval`` seconds in a daemon thread while it returns True."""

    def __init__(
        self, tick: Callable[[], bool], interval: float = 1.0, on_error: Callable[[Exception], None] | None = None
    ):
        self.tick = tick
        self.interval = interval
        self.on_error = on_error
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        with self._lock:
            return self._thread is not None

    def wake(self) -> None:
        """Start polling (or make a running poller tick at least once more)."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="mtc-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop for good (the app is closed)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                busy = self.tick()
            except Exception as exc:  # a failing tick stops polling instead of spinning
                busy = False
                if self.on_error is not None:
                    self.on_error(exc)
            with self._lock:
                if busy or self._again:
                    self._again = False
                    continue
                self._thread = None
                return
        with self._lock:
            self._thread = None
