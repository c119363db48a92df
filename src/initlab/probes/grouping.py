"""Groups of identical rows within a tolerance, in about O(n·d) rather than O(n²·d).

Rows are given as column blocks (``[weight (n×d), bias (n×1)]``), so a layer's weight and bias need
not be concatenated. Two rows ``a`` and ``b`` are identical when every element agrees to within
``atol + rtol·max(|a_k|, |b_k|)`` (the elementwise test of ``torch.isclose``, made symmetric). Rows are
projected onto one random direction ``r``; identical rows have projections within
``‖r‖₁·atol + 2·rtol·M`` of each other, where ``M = max|x|·‖r‖₁`` bounds every row's ``|x|·|r|``, plus
the rounding error of the projection itself (at most about d·ε·M, computed in float64). Sorting the
projections and cutting where neighbours are farther apart than that bound gives candidate runs; each
run of two or more rows is then checked exactly, in float64, against a representative. Distinct rows
almost never share a run, so the exact check costs little.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

_SEED = 20240601


def group_rows(blocks: torch.Tensor | Sequence[torch.Tensor], rtol: float, atol: float) -> torch.Tensor:
    """Group labels for the rows of ``blocks`` (one n×d matrix, or column blocks n×d_i): rows with the
    same label are identical within the tolerance. Each label is the index of its group's first row,
    so singletons keep their own index."""
    blocks = [blocks] if isinstance(blocks, torch.Tensor) else list(blocks)
    blocks = [b.detach().reshape(b.shape[0], -1) for b in blocks]
    n, device = blocks[0].shape[0], blocks[0].device
    labels = torch.arange(n, device=device)
    width = sum(b.shape[1] for b in blocks)
    if n < 2 or width == 0:
        return labels if width else torch.zeros(n, dtype=torch.long, device=device)
    gen = torch.Generator().manual_seed(_SEED)
    keys = torch.zeros(n, dtype=torch.float64, device=device)
    magnitude = spread = 0.0  # an upper bound of |x|·|r| over the rows, and ‖r‖₁
    for block in blocks:
        r = (torch.rand(block.shape[1], generator=gen, dtype=torch.float64) * 2 - 1).to(device)
        keys += block.to(torch.float64) @ r
        largest = float(block.abs().amax()) if block.numel() else 0.0
        magnitude += largest * float(r.abs().sum()) if math.isfinite(largest) else 0.0
        spread += float(r.abs().sum())
    # identical rows may also differ by the product's rounding (rows summed in different orders)
    rounding = 4 * width * torch.finfo(torch.float64).eps * magnitude
    bound = spread * atol + 2 * rtol * magnitude + rounding
    order = torch.argsort(keys)
    cuts = (keys[order].diff() > bound).nonzero().flatten() + 1
    starts = torch.cat([torch.zeros(1, dtype=torch.long, device=device), cuts])
    ends = torch.cat([cuts, torch.tensor([n], device=device)])
    runs = ((ends - starts) > 1).nonzero().flatten().tolist()
    for start, end in zip(starts[runs].tolist(), ends[runs].tolist(), strict=True):
        remaining = order[start:end]
        rows = torch.cat([b[remaining].double() for b in blocks], dim=1)
        while len(remaining) > 1:
            rep = rows[0]
            close = (rows - rep).abs() <= atol + rtol * torch.maximum(rows.abs(), rep.abs())
            same = close.all(dim=1)
            same[0] = True  # a row is its own group, even when it holds a NaN
            labels[remaining[same]] = remaining[same].min()
            remaining, rows = remaining[~same], rows[~same]
    return labels


def group_sizes(labels: torch.Tensor) -> torch.Tensor:
    """The size of each row's group."""
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    return counts[inverse]
