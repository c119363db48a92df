"""Groups of identical rows within a tolerance, in about O(n·d) rather than O(n²·d).

Two rows ``a`` and ``b`` are identical when every element agrees to within
``atol + rtol·max(|a_k|, |b_k|)`` (the elementwise test of ``torch.isclose``, made symmetric). Rows are
projected onto one random direction ``r``; identical rows have projections within
``‖r‖₁·atol + rtol·(m_a + m_b)`` of each other, where ``m = |x|·|r|`` (plus the rounding error of
the projection itself). Sorting the projections and
cutting where neighbours are farther apart than that bound gives candidate runs; each run is then
checked exactly against a representative. Distinct rows almost never share a run, so the exact check
costs little.
"""

from __future__ import annotations

import torch

_SEED = 20240601


def group_rows(x: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    """Group labels for the rows of ``x`` (n×d): rows with the same label are identical within the
    tolerance. Each label is the index of its group's first row, so singletons keep their own index."""
    n = x.shape[0]
    labels = torch.arange(n, device=x.device)
    if n < 2:
        return labels
    x = x.detach().to(torch.float64).reshape(n, -1)
    if x.shape[1] == 0:
        return torch.zeros(n, dtype=torch.long, device=x.device)
    gen = torch.Generator().manual_seed(_SEED)
    r = (torch.rand(x.shape[1], generator=gen, dtype=torch.float64) * 2 - 1).to(x.device)
    keys = x @ r
    magnitude = x.abs() @ r.abs()
    # identical rows may still get projections that differ by the product's own rounding error,
    # at most about d·ε₆₄·m (kernels may sum different rows in different orders)
    rounding = 4 * x.shape[1] * torch.finfo(torch.float64).eps * magnitude.max()
    bound = r.abs().sum() * atol + 2 * rtol * magnitude.max() + rounding
    order = torch.argsort(keys)
    gaps = keys[order].diff() > bound
    starts = torch.cat([torch.zeros(1, dtype=torch.long, device=x.device), gaps.nonzero().flatten() + 1])
    ends = torch.cat([starts[1:], torch.tensor([n], device=x.device)])
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        remaining = order[start:end]
        while len(remaining) > 1:
            rep = x[remaining[0]]
            close = (x[remaining] - rep).abs() <= atol + rtol * torch.maximum(x[remaining].abs(), rep.abs())
            same = close.all(dim=1)
            same[0] = True  # a row is its own group, even when it holds a NaN
            labels[remaining[same]] = remaining[same].min()
            remaining = remaining[~same]
    return labels


def group_sizes(labels: torch.Tensor) -> torch.Tensor:
    """The size of each row's group."""
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    return counts[inverse]
