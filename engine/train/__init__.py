"""Training: one stage from its stored config (networks, optimizer, loop, checkpoints)."""

from .loop import NonFiniteLoss
from .stage import StageHooks, StagePlan, train_stage

__all__ = ["NonFiniteLoss", "StageHooks", "StagePlan", "train_stage"]
