"""``mtc train --sampled``: turn on ``training.sampled`` for the stages to train and check their samples first."""

from __future__ import annotations

from pathlib import Path

from ..errors import MtcError
from ..stages import StageBook


def prepare_sampled(project: Path, targets: list[str], sampled: bool) -> None:
    """With ``sampled``, set ``training.sampled=true`` on draft targets; refuse, before anything is queued,
    a target that has run without it or whose stored samples are missing or older than problem.py."""
    from ..problem import load_problem
    from ..samples import check_samples

    with StageBook(project) as book:
        records = [r for r in (book.stage(name) for name in targets) if r.status != "done"]
        if sampled:
            ran = [r.name for r in records if r.status != "draft" and not r.config["training"].get("sampled")]
            if ran:
                raise MtcError(
                    f"--sampled: stage(s) {', '.join(ran)} already ran (or are queued) without training.sampled; "
                    "make a new stage for sampled training"
                )
        using = [r for r in records if sampled or r.config["training"].get("sampled")]
        if not using:
            return
        problem = load_problem(project)
        for record in using:
            check_samples(problem, record.config)
        for record in using:
            if record.status == "draft" and not record.config["training"].get("sampled"):
                book.edit(record.name, ["training.sampled=true"])
