"""What ``from cfg import *`` gives a ``problem.py``: the problem API and MTC's sympy names."""

import sympy
from sympy import (
    E,
    Abs,
    And,
    Eq,
    Function,
    Heaviside,
    Integral,
    Max,
    Min,
    Ne,
    Not,
    Or,
    Piecewise,
    Rational,
    Symbol,
    atan,
    atan2,
    cos,
    cosh,
    exp,
    expand,
    log,
    pi,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)

from .problem import Problem, enforce
from .symbols import normal_x, normal_y, normal_z, sdf

__all__ = [
    "sympy", "Problem", "enforce",
    "Symbol", "Function", "Or", "And", "Not", "Eq", "Ne", "Abs", "Integral", "expand",
    "Piecewise", "Heaviside", "Min", "Max", "Rational",
    "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sinh", "cosh", "atan", "atan2", "pi", "E",
    "sdf", "normal_x", "normal_y", "normal_z",
]  # fmt: skip
