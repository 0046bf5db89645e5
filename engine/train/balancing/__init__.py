"""Loss balancing: the weights a stage gives its constraints while it trains (``training.loss_balancing``)."""

from .base import ROW_PREFIX, Balancer
from .registry import BALANCERS, build_balancer

__all__ = ["BALANCERS", "ROW_PREFIX", "Balancer", "build_balancer"]
