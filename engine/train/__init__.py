"""Training: one stage from its stored config (networks, optimizer, loop, checkpoints)."""

from .loop import NonFiniteLoss
from .stage import StageHooks, StagePlan, stage_folder, train_stage

__all__ = ["NonFiniteLoss", "StageHooks", "StagePlan", "stage_folder", "train_stage"]
