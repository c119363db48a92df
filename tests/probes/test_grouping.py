"""Grouping rows within a tolerance: the fast projection method agrees with the all-pairs definition."""

from __future__ import annotations

import pytest
import torch

from initlab.probes.grouping import group_rows, group_sizes


def all_pairs(x: torch.Tensor, rtol: float, atol: float) -> list[set[int]]:
    """Groups by the definition, checking every pair against each group's first row."""
    x = x.double()
    groups: list[set[int]] = []
    left = list(range(len(x)))
    while left:
        rep = left[0]
        close = ((x[left] - x[rep]).abs() <= atol + rtol * torch.maximum(x[left].abs(), x[rep].abs())).all(1)
        groups.append({i for i, c in zip(left, close.tolist(), strict=True) if c})
        left = [i for i, c in zip(left, close.tolist(), strict=True) if not c]
    return groups


def as_sets(labels: torch.Tensor) -> list[set[int]]:
    return [set((labels == g).nonzero().flatten().tolist()) for g in torch.unique(labels)]


@pytest.mark.parametrize("seed", range(5))
def test_planted_groups_are_found_exactly(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(12, 40, generator=gen)
    which = torch.randint(0, 12, (200,), generator=gen)
    x = base[which].clone()
    x[::7] *= 1 + 1e-8 * torch.randn(x[::7].shape, generator=gen)  # within rtol 1e-6 of their group
    x[::11, 3] *= 1 + 1e-3  # outside it: their own groups
    rtol, atol = 1e-6, 0.0
    found = sorted(map(sorted, as_sets(group_rows(x, rtol, atol))))
    assert found == sorted(map(sorted, all_pairs(x, rtol, atol)))
    labels = group_rows(x, rtol, atol)
    assert torch.equal(
        group_sizes(labels), torch.tensor([int((labels == labels[i]).sum()) for i in range(200)])
    )


def test_exact_zeros_and_edge_cases() -> None:
    assert group_rows(torch.zeros(5, 3), 0.0, 0.0).tolist() == [0] * 5
    assert group_rows(torch.zeros(1, 3), 0.0, 0.0).tolist() == [0]
    assert group_rows(torch.zeros(3, 0), 0.0, 0.0).tolist() == [0, 0, 0]
    x = torch.tensor([[1.0, 0.0], [1.0, 1e-30], [1.0, 0.0]])
    assert group_rows(x, 1e-6, 0.0).tolist() == [0, 1, 0]  # 1e-30 is not 0 without atol
    assert group_rows(x, 1e-6, 1e-20).tolist() == [0, 0, 0]
    nan = torch.tensor([[float("nan")], [float("nan")], [1.0]])
    assert group_rows(nan, 1e-6, 0.0).tolist() == [0, 1, 2]  # NaN equals nothing
