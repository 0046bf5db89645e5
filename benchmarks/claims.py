"""The queue on SQLite and on PostgreSQL: claim throughput and the cost of writing loss rows.

Measured in this one run, each backend on a fresh database:
- claim throughput: N worker processes (1, 4, 8) each loop ``claim_next`` + ``finish(done)``
  (the queue work of one stage, without training) until the queue is empty; stages per second
  from the moment all workers start to the last one done (median of rounds);
- loss-row writes: ``record_rows`` of a batch of 200 rows under a claim (what a worker flushes),
  by 1 writer and by 4 writers at once; milliseconds per batch (median).

PostgreSQL is a throw-away server (``tests/pg_server.py``: initdb + pg_ctl on 127.0.0.1, fsync
off as in the tests) unless ``$MTC_TEST_PG_URL`` names one. SQLite is a file in a temp folder
(WAL, synchronous=NORMAL). Every process is single-threaded (OMP_NUM_THREADS=1).

    python benchmarks/claims.py [--stages 400] [--rounds 3] [--batches 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import pg_server  # noqa: E402

from engine.store import init_database, open_url  # noqa: E402
from engine.store.queue import claim_next, enqueue, finish, record_rows  # noqa: E402

WORKERS = (1, 4, 8)
BATCH = 200
KEYS = ("total", "pde", "bc", "lr")


def _claimer(url: str, start, done) -> None:
    with open_url(url) as storage:
        start.wait()
        claimed = 0
        while (claim := claim_next(storage, "bench", os.getpid(), "cpu")) is not None:
            finish(storage, claim, "done")
            claimed += 1
    done.put(claimed)


def claim_rate(url: str, stages: int, workers: int) -> float:
    """Stages claimed and finished per second by ``workers`` processes emptying a queue of ``stages``."""
    with open_url(url) as storage:
        names = [f"b{workers}_{time.monotonic_ns()}_{n}" for n in range(stages)]
        with storage.transaction():
            for name in names:
                storage.create_stage(name, {})
        enqueue(storage, names)
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    processes = [context.Process(target=_claimer, args=(url, start, done)) for _ in range(workers)]
    for process in processes:
        process.start()
    time.sleep(2.0)  # every process has opened its connection
    began = time.perf_counter()
    start.set()
    claimed = sum(done.get(timeout=600) for _ in processes)
    took = time.perf_counter() - began
    for process in processes:
        process.join()
    assert claimed == stages, (claimed, stages)
    return stages / took


def _writer(url: str, batches: int, start, done) -> None:
    with open_url(url) as storage:
        claim = claim_next(storage, "bench", os.getpid(), "cpu")
        assert claim is not None
        start.wait()
        times = []
        for batch in range(batches):
            rows = [(batch * 50 + step, 0.1, key, 1.0 / (step + 1)) for step in range(50) for key in KEYS]
            began = time.perf_counter()
            record_rows(storage, claim, rows)
            times.append(time.perf_counter() - began)
    done.put(times)


def row_write_ms(url: str, writers: int, batches: int) -> float:
    """Median milliseconds to write one batch of 200 loss rows, with ``writers`` writing at once."""
    prefix = f"w{writers}x{time.monotonic_ns()}"
    with open_url(url) as storage:
        names = [f"{prefix}-{n}" for n in range(writers)]
        for name in names:
            storage.create_stage(name, {})
        enqueue(storage, names)
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    processes = [context.Process(target=_writer, args=(url, batches, start, done)) for _ in range(writers)]
    for process in processes:
        process.start()
    time.sleep(2.0)
    start.set()
    times = [t for _ in processes for t in done.get(timeout=600)]
    for process in processes:
        process.join()
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    server = pg_server.start()
    if isinstance(server, str):
        sys.exit(f"no PostgreSQL server: {server}")
    with tempfile.TemporaryDirectory() as folder:
        urls = {"SQLite": f"sqlite:///{folder}/bench.db", "PostgreSQL": server.new_database()}
        for url in urls.values():
            init_database(url)
        rates = {(backend, n): [] for backend in urls for n in WORKERS}
        for _ in range(args.rounds):  # rounds interleaved, so load on the machine hits both alike
            for backend, url in urls.items():
                for n in WORKERS:
                    rates[backend, n].append(claim_rate(url, args.stages, n))
        writes = {(backend, n): row_write_ms(url, n, args.batches) for backend, url in urls.items() for n in (1, 4)}
    server.stop()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.stages} stages per round, "
          f"median of {args.rounds} rounds; one thread per process\n")  # fmt: skip
    print("| workers | SQLite stages/s | PostgreSQL stages/s | PostgreSQL / SQLite |")
    print("|---:|---:|---:|---:|")
    for n in WORKERS:
        sqlite, pg = statistics.median(rates["SQLite", n]), statistics.median(rates["PostgreSQL", n])
        print(f"| {n} | {sqlite:.0f} | {pg:.0f} | {pg / sqlite:.2f} |")
    print(f"\n| writers | SQLite ms / {BATCH} rows | PostgreSQL ms / {BATCH} rows | PostgreSQL / SQLite |")
    print("|---:|---:|---:|---:|")
    for n in (1, 4):
        sqlite, pg = writes["SQLite", n], writes["PostgreSQL", n]
        print(f"| {n} | {sqlite:.1f} | {pg:.1f} | {pg / sqlite:.2f} |")


if __name__ == "__main__":
    main()
