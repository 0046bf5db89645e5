"""A project's files that stage operations touch: ``problem.py``'s hash and ``training/<stage>/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from engine.layout import stage_folder
from engine.problem.loader import problem_hash  # re-exported: the stage API records it

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
