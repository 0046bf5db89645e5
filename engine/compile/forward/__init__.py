"""Forward-propagated derivatives: jets carried through the layers instead of nested autograd."""

from .fields import ForwardFields, ForwardPlan
from .modules import NotCovered, unsupported_layer

__all__ = ["ForwardFields", "ForwardPlan", "NotCovered", "unsupported_layer"]
