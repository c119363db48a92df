"""Groups of identical rows within a tolerance, in about O(n·d) rather than O(n²·d).

Rows are given as column blocks (``[weight (n×d), bias (n×1)]``), so a layer's weight and bias need
not be concatenated. Two rows ``a`` and ``b`` are identical when every element agrees to within
``atol + rtol·max(|a_k|, |b_k|)`` (the elementwise test of ``torch.isclose``, made symmetric), and a
group is what the definition gives when it is applied greedily: the lowest-numbered row left, with
every row left that is identical to it, then again.

Rows are projected onto a random direction ``r``; identical rows have projections within
``‖r‖₁·atol + 2·rtol·M`` of each other, where ``M = max|x|·‖r‖₁`` bounds every row's ``|x|·|r|`` (over
finite elements; a row holding inf or NaN is identical to none), plus the rounding error of the
projection itself (at most about d·ε·M, computed in float64). Sorting the projections and cutting
where neighbours are farther apart than that bound splits the rows into candidate runs that never
separate two identical rows. The first projection reads only a fixed random subset of at most
:data:`SUBSET` columns of each block, which is cheap and almost always leaves distinct rows alone in
their runs; the rows still sharing a run are projected again over every column, and the runs that
remain are checked exactly, in float64, all at once. A run cut from another never holds a row
identical to one of its rows, so the greedy groups inside each run are the groups of all the rows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

_SEED = 20240601
#: Columns of a block that the first, cheap projection reads.
SUBSET = 64


def group_rows(blocks: torch.Tensor | Sequence[torch.Tensor], rtol: float, atol: float) -> torch.Tensor:
    """Group labels for the rows of ``blocks`` (one n×d matrix, or column blocks n×d_i): rows with the
    same label are identical within the tolerance. Each label is the index of its group's first row,
    so singletons keep their own index."""
    blocks = [blocks] if isinstance(blocks, torch.Tensor) else list(blocks)
    blocks = [b.detach().reshape(b.shape[0], -1) for b in blocks]
    n, device = blocks[0].shape[0], blocks[0].device
    width = sum(b.shape[1] for b in blocks)
    if n < 2 or width == 0:
        return torch.arange(n, device=device) if width else torch.zeros(n, dtype=torch.long, device=device)
    labels = torch.arange(n, device=device)
    rows, runs = labels, None  # the rows that may have a twin, and their candidate runs (None: one)
    subsets = [_subset_columns(b.shape[1], device) for b in blocks]
    if any(c is not None for c in subsets):  # first a few columns of every row
        picked = [b if c is None else b.index_select(1, c) for b, c in zip(blocks, subsets, strict=True)]
        rows, runs = _split_runs(rows, runs, torch.cat(picked, dim=1), rtol, atol)
    if len(rows):  # then every column of the rows that still share a run
        rows, runs = _split_runs(rows, runs, torch.cat([b[rows] for b in blocks], dim=1), rtol, atol)
    if len(rows):
        _label_groups(labels, rows, runs, torch.cat([b[rows].double() for b in blocks], dim=1), rtol, atol)
    return labels


def group_sizes(labels: torch.Tensor) -> torch.Tensor:
    """The size of each row's group."""
    return torch.bincount(labels, minlength=len(labels))[labels]


@functools.lru_cache(maxsize=64)
def _direction(width: int, device: torch.device) -> tuple[torch.Tensor, float]:
    """A fixed random direction in [-1, 1]^width (float64) and its L1 norm."""
    gen = torch.Generator().manual_seed(_SEED + width)
    r = torch.rand(width, generator=gen, dtype=torch.float64) * 2 - 1
    return r.to(device), float(r.abs().sum())


@functools.lru_cache(maxsize=64)
def _subset_columns(width: int, device: torch.device) -> torch.Tensor | None:
    """A fixed random subset of :data:`SUBSET` columns (sorted), or None when a block is that narrow."""
    if width <= SUBSET:
        return None
    gen = torch.Generator().manual_seed(_SEED - width)
    return torch.randperm(width, generator=gen)[:SUBSET].sort().values.to(device)


def _split_runs(
    rows: torch.Tensor, runs: torch.Tensor | None, columns: torch.Tensor, rtol: float, atol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the runs of ``rows`` (run ids ``runs``; None: one run) where their projections (of their
    ``columns``, one row each) are farther apart than two identical rows' can be; return the rows left
    in runs of two or more, with their new run ids."""
    values = columns.double()
    r, r_norm = _direction(values.shape[1], values.device)
    keys = values @ r
    largest = float(values.abs().amax())  # bounds |x|·|r| by largest·‖r‖₁ over the finite elements
    if not math.isfinite(largest):
        largest = float(values.abs().nan_to_num(posinf=0.0).amax())
    # identical rows may also differ by the product's rounding (rows summed in different orders)
    bound = r_norm * (
        atol + 2 * rtol * largest + 4 * values.shape[1] * torch.finfo(torch.float64).eps * largest
    )
    order = torch.argsort(keys)
    if runs is not None:
        order = order[torch.argsort(runs[order], stable=True)]  # by run, then by key
    cuts = keys[order].diff() > bound  # a NaN key cuts nothing
    if runs is not None:
        cuts |= runs[order].diff() != 0
    if bool(cuts.all()):  # every row alone: all distinct
        return rows[:0], rows[:0]
    new_runs = torch.empty_like(rows)
    new_runs[order] = torch.cumsum(torch.cat([cuts.new_ones(1), cuts]), 0) - 1
    twins = torch.bincount(new_runs)[new_runs] > 1
    return rows[twins], new_runs[twins]


def _label_groups(
    labels: torch.Tensor,
    rows: torch.Tensor,
    runs: torch.Tensor,
    values: torch.Tensor,
    rtol: float,
    atol: float,
) -> None:
    """Within each run, label the greedy groups of identical ``rows`` (their ``values`` in float64),
    every run at once: each run's lowest row takes every row identical to it, until none is left."""
    order = torch.argsort(rows)
    order = order[torch.argsort(runs[order], stable=True)]  # by run, then by row number
    rows, runs, values = rows[order], runs[order], values[order]
    while len(rows) > 1:
        first = torch.ones(len(rows), dtype=torch.bool, device=rows.device)
        first[1:] = runs.diff() != 0
        positions = torch.arange(len(rows), device=rows.device)
        rep = torch.cummax(torch.where(first, positions, 0), 0).values  # each run's lowest row
        reference = values[rep]
        close = (values - reference).abs() <= atol + rtol * torch.maximum(values.abs(), reference.abs())
        same = close.all(dim=1) | first  # a row is its own group, even when it holds a NaN
        labels[rows[same]] = rows[rep[same]]
        rows, runs, values = rows[~same], runs[~same], values[~same]
