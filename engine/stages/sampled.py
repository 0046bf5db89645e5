"""Sampled training (``training.sampled``, ``mtc train --sampled``): checked for every stage a run queues.

``runs.submit`` calls this for the stages it is about to queue (the requested ones and their
unfinished ancestors), so the CLI and the configurator's TRAIN refuse the same things before
anything is queued: stored samples that are missing or older than problem.py, and (asked for
sampled training) a stage that already ran without it.
"""

from __future__ import annotations

from engine.errors import MtcError
from engine.stages.operations import StageBook


def prepare_sampled(book: StageBook, names: list[str], sampled: bool) -> None:
    """Check the stages ``names`` (about to be queued) that train from stored samples; with ``sampled``
    that is all of them, and each draft gets ``training.sampled=true`` once every check has passed."""
    from engine.problem import load_problem
    from engine.samples import check_samples

    records = [book.stage(name) for name in names]
    if sampled:
        ran = [r.name for r in records if r.status != "draft" and not r.config["training"].get("sampled")]
        if ran:
            raise MtcError(
                f"--sampled: stage(s) {', '.join(ran)} already ran without training.sampled; "
                "make a new stage for sampled training"
            )
    using = [r for r in records if sampled or r.config["training"].get("sampled")]
    if not using:
        return
    problem = load_problem(book.project_dir)
    for record in using:
        check_samples(problem, record.config)
    for record in using:
        if not record.config["training"].get("sampled"):
            book.edit(record.name, ["training.sampled=true"])
