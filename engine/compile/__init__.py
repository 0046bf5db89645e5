"""sympy -> torch: residuals and models evaluated on batches with cached nested-autograd derivatives."""

from .expression import CompiledExpression
from .fields import BatchFields, NetworkBinding, as_columns
from .problem_functions import CompiledModel, CompiledProblem, compile_problem

__all__ = [
    "BatchFields", "CompiledExpression", "CompiledModel", "CompiledProblem", "NetworkBinding",
    "as_columns", "compile_problem",
]  # fmt: skip
