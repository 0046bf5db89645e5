"""Live tqdm bars, one per stage, drawn from the store while workers train."""

from __future__ import annotations

import subprocess
import time

from tqdm import tqdm

from ..config import total_steps
from ..store import Storage

FINAL = ("done", "failed", "cancelled")


def watch(storage: Storage, stages: list[str], processes: list[subprocess.Popen], every: float = 0.5) -> None:
    """Update a bar per stage (step, loss, steps/s) until the workers exit."""
    bars: dict[str, tqdm] = {}
    try:
        while True:
            finished = all(p.poll() is not None for p in processes)
            records = {r.name: r for r in storage.list_stages() if r.name in stages}
            losses = storage.latest_losses()
            for name in stages:
                record = records.get(name)
                if record is None or record.status in ("queued", "draft") and name not in bars:
                    continue
                bar = bars.get(name)
                if bar is None:
                    total = total_steps(record.config["training"])
                    bar = bars[name] = tqdm(total=total, desc=name, position=len(bars), unit="step", leave=True)
                step = 0 if record.last_step is None else record.last_step + 1
                bar.update(max(step - bar.n, 0))
                if name in losses:
                    bar.set_postfix_str(f"loss={losses[name][1]:.3e} {record.status}", refresh=False)
                if record.status in FINAL and not bar.disable:
                    bar.refresh()
            if finished:
                return
            time.sleep(every)
    finally:
        for bar in bars.values():
            bar.close()
