"""The problem language: MTC-compatible sympy problem definitions and their geometry."""

from .entities import Constraint, DataConstraint, NeuralNetwork, PiecewiseModel, Subdomain, Submodel
from .loader import load_problem
from .problem import Problem, enforce
from .summary import format_problem, problem_summary

__all__ = [
    "Constraint", "DataConstraint", "NeuralNetwork", "PiecewiseModel", "Subdomain", "Submodel",
    "Problem", "enforce", "load_problem", "problem_summary", "format_problem",
]  # fmt: skip
