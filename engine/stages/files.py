"""A project's files that stage operations touch: ``problem.py``'s hash and ``training/<stage>/``."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from engine.layout import stage_folder
from engine.problem.first_order import is_recorded
from engine.problem.loader import PROBLEM_FILE

def problem_hash(project_dir: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of the project's ``problem.py`` text (and of its form, when --only-first-order-ufunc
    rewrites it), recorded on every stage."""
    text = (Path(project_dir) / PROBLEM_FILE).read_text(encoding="utf-8")
    if is_recorded(Path(project_dir)):
        text += "\n# mtc: --only-first-order-ufunc\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remove_stage_folders(project_dir: str | os.PathLike[str], names: Iterable[str]) -> None:
    """Delete the ``training/<name>/`` folders of ``names`` (missing ones are fine)."""
    for name in names:
        shutil.rmtree(stage_folder(project_dir, name), ignore_errors=True)


def remove_project_files(project_dir: str | os.PathLike[str], paths: Iterable[str]) -> None:
    """Delete files given relative to the project; paths leading outside it are left alone."""
    root = Path(project_dir).resolve()
    for path in paths:
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file():
            target.unlink()
