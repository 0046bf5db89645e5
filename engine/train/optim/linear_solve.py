"""The damped Gauss-Newton system ``(J^T J + damping I) d = -g``: dense (Cholesky) or matrix-free CG."""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def dense_solve(gram: Tensor, grad: Tensor, damping: float) -> Tensor | None:
    """Solve with the ``P x P`` Gramian ``gram = J^T J``; None when it is not positive definite at this damping."""
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    factor, info = torch.linalg.cholesky_ex(gram + damping * eye)
    if int(info) != 0:
        return None
    return -torch.cholesky_solve(grad.unsqueeze(1), factor).squeeze(1)


def cg_solve(jac: Tensor, grad: Tensor, damping: float, max_iter: int, rtol: float = 1e-12) -> Tensor:
    """Conjugate gradients with products ``J^T (J v)`` on the stored Jacobian, Jacobi-preconditioned.

    Never forms ``J^T J``: memory is the Jacobian's (residuals x parameters numbers).
    """
    inverse_diagonal = 1.0 / (jac.square().sum(0) + damping)
    solution = torch.zeros_like(grad)
    residual = -grad
    direction = inverse_diagonal * residual
    rz = residual @ direction
    stop = rtol * float(grad.norm())
    for _ in range(max_iter):
        product = jac.T @ (jac @ direction) + damping * direction
        alpha = rz / (direction @ product)
        solution = solution + alpha * direction
        residual = residual - alpha * product
        if float(residual.norm()) <= stop:
            break
        preconditioned = inverse_diagonal * residual
        rz_next = residual @ preconditioned
        direction = preconditioned + (rz_next / rz) * direction
        rz = rz_next
    return solution
