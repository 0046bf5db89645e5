"""mtc project configuration: `from cfg import *` in problem.py gives `p` and the problem language."""

from engine.problem.language import *  # noqa: F401,F403
from engine.problem.language import Problem

p = Problem("%%projname%%")
