"""Several processes writing one database (SQLite file, PostgreSQL server) at once: no lock errors, nothing lost."""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from engine.store import database_url, init_database, make_engine, open_url

WORKERS = 4
STAGES_EACH = 25
KEYS = ("total", "pde", "lr")
STEPS = 10
ROWS = [(step, step / 100, key, 1 / (step + 1)) for step in range(STEPS) for key in KEYS]


def _work(url: str, worker: int, start, results) -> None:
    """Create stages under numbered names and log loss rows, reporting 'ok' or a traceback."""
    try:
        start.wait(timeout=60)
        with open_url(url) as storage:
            for _ in range(STAGES_EACH):
                with storage.transaction():
                    name = storage.next_free_name()
                    storage.create_stage(name, {"worker": worker})
                storage.add_loss_rows(name, 0, ROWS[: len(ROWS) // 2])
                storage.add_loss_rows(name, 0, ROWS)  # overlaps the first batch: duplicates ignored
                storage.set_status(name, "done", last_step=STEPS - 1)
                storage.list_stages()
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


def test_parallel_writers_on_one_database(tmp_path: Path, backend: str):
    url = database_url(tmp_path)
    init_database(url)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_work, args=(url, n, start, results)) for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert reports == ["ok"] * WORKERS, "\n".join(r for r in reports if r != "ok")

    with open_url(url) as storage:
        stages = storage.list_stages()
        assert sorted(s.name for s in stages) == sorted(f"stage{n}" for n in range(1, 101))
        assert {s.status for s in stages} == {"done"}
        per_worker = Counter(stage.config["worker"] for stage in stages)
        assert per_worker == {worker: STAGES_EACH for worker in range(WORKERS)}
        for stage in stages:
            assert len(storage.loss_rows(stage.name)) == len(ROWS)
    if backend == "sqlite":
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
