"""Optimizers and learning-rate schedulers: a name -> builder registry each, one file per family.

First-order optimizers (``adam``, ``adamw``, ``sgd``) and ``lbfgs`` are torch's; ``lm``
(Levenberg-Marquardt) and ``engd`` (energy natural gradient) are Gauss-Newton methods on the
stacked weighted residuals of every loss term (:mod:`.least_squares`, :mod:`.gauss_newton`).
"""

from .gauss_newton import GaussNewton
from .registry import OPTIMIZERS, build_optimizer, step_report
from .schedulers import SCHEDULERS, Scheduler, advance, build_scheduler, current_lr, resume_scheduler

__all__ = [
    "GaussNewton", "OPTIMIZERS", "SCHEDULERS", "Scheduler", "advance", "build_optimizer", "build_scheduler",
    "current_lr", "resume_scheduler", "step_report",
]  # fmt: skip
